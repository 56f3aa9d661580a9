import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratchDir } from '../src/util/fs.js';

/** The repository root (tests run from dist/test). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** `../shared` beside the repository: real weights and CIFAR-10. Absent on some machines. */
export const SHARED = path.resolve(ROOT, '..', 'shared');
export const MOBILENET_H5 = path.join(SHARED, 'weights', 'mobilenet_2_5_224_tf_no_top.h5');
export const CIFAR_DIR = path.join(SHARED, 'data', 'cifar10-test');

/** A skip reason when a file from ../shared is missing, printed so nobody mistakes the skip for a pass. */
export function needsShared(file: string): string | false {
  if (existsSync(file)) return false;
  const reason = `${file} is absent (../shared not laid out here): test skipped`;
  process.stderr.write(`NOTICE: ${reason}\n`);
  return reason;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would (`nodeArgs` go to node itself, e.g. `--import hook.mjs`). */
export function cli(args: string[], env: Record<string, string> = {}, cwd = ROOT, nodeArgs: string[] = []): CliResult {
  const r = spawnSync(process.execPath, [...nodeArgs, CLI, ...args], { env: { ...process.env, ...env }, cwd, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export { maxRelative } from './relative.js';

/** A fresh folder under the system's temp folder, removed when this test process exits. */
export function tempDir(prefix = 'transferkit-test-'): string {
  return scratchDir(prefix);
}

export const SEED_HEAD = 'flatten, dense:256:relu, dense:1:sigmoid';

/** CLI flags for the smallest base the tests train: MobileNet α=0.25, random weights, 32×32. */
export const TINY_BASE = ['--base', 'mobilenet', '--alpha', '0.25', '--weights', 'none', '--input-size', '32'];

/**
 * Writes a small image dataset: `dir/<class>/<i>.png|jpg`, each class a different colour with noise, so a
 * classifier can learn it. Returns the folder.
 */
export async function makeImageFolder(dir: string, options: { classes?: string[]; perClass?: number; size?: number } = {}): Promise<string> {
  const { default: sharp } = await import('sharp');
  const { mkdirSync } = await import('node:fs');
  const classes = options.classes ?? ['alpha', 'beta'];
  const size = options.size ?? 24;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const [c, name] of classes.entries()) {
    mkdirSync(path.join(dir, name), { recursive: true });
    for (let i = 0; i < (options.perClass ?? 6); i++) {
      const px = Buffer.alloc(size * size * 3);
      for (let p = 0; p < px.length; p++) px[p] = Math.min(255, Math.max(0, (p % 3 === c % 3 ? 200 : 40) + Math.round((rand() - 0.5) * 60)));
      const img = sharp(px, { raw: { width: size, height: size, channels: 3 } });
      await (i % 2 ? img.jpeg() : img.png()).toFile(path.join(dir, name, `${String(i).padStart(3, '0')}.${i % 2 ? 'jpg' : 'png'}`));
    }
  }
  return dir;
}

/** A node `--import` hook that makes `onnxruntime-node` fail to load, as it does where its binary is missing. */
export function withoutOrt(dir: string): string[] {
  const hook = path.join(dir, 'no-ort.mjs');
  const resolver =
    "export async function resolve(s, c, next) { if (s === 'onnxruntime-node') throw new Error('onnxruntime_binding.node: cannot open shared object file'); return next(s, c); }";
  writeFileSync(hook, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(resolver)}));\n`);
  return ['--import', hook];
}

/**
 * A generated Sentinel-2-like dataset: `dir/<class>/<i>.tif`, 13-band uint16 tiles whose classes differ in
 * brightness, in their colour bands (B02–B04) and in one near-infrared band each (`rasterPixel`).
 */
/** A band value of class `c`: the pattern of makeRasterFolder and of the generated scenes. */
export function rasterPixel(c: number, band: number, rand: () => number): number {
  return 800 + c * 2500 + (band === 1 + (c % 3) ? 1500 : 0) + (band === 6 + c ? 2500 : 0) + (rand() - 0.5) * 400;
}

export async function makeRasterFolder(dir: string, options: { classes?: string[]; perClass?: number; size?: number; bands?: number } = {}): Promise<string> {
  const { writeGeoTiff } = await import('./tiff-writer.js');
  const { mkdirSync } = await import('node:fs');
  const classes = options.classes ?? ['Forest', 'River', 'Residential'];
  const size = options.size ?? 16;
  const bands = options.bands ?? 13;
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const [c, name] of classes.entries()) {
    mkdirSync(path.join(dir, name), { recursive: true });
    for (let i = 0; i < (options.perClass ?? 6); i++) {
      writeGeoTiff(path.join(dir, name, `${name}_${i + 1}.tif`), {
        width: size,
        height: size,
        bands,
        dtype: 'uint16',
        pixel: (_x, _y, b) => rasterPixel(c, b, rand),
      });
    }
  }
  return dir;
}

/** A .npy file's float32 values and shape. */
export function readNpy(file: string): { shape: number[]; data: Float32Array } {
  const buf = readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const body = buf.subarray(10 + headerLen);
  return { shape, data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)) };
}
