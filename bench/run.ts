// `npm run bench [-- --quick]`: transferkit's engines side by side with PyTorch (Debian's python3-torch, 2
// threads) in one run. Prints a table and writes bench/results/<date>.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { addHead, applications, freeze, initBackend, unfreezeFrom } from '../src/index.js';
import { NpyWriter } from '../src/data/npy.js';
import { decodeImage } from '../src/data/decode.js';
import { listImageFolder } from '../src/data/folders.js';
import { preprocessPixels } from '../src/data/preprocess.js';
import { createPredictor } from '../src/engine/predictor.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { TfjsTrainer } from '../src/engine/tfjs-trainer.js';
import { textTable } from '../src/report/tables.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const QUICK = process.argv.includes('--quick');
const REPS = QUICK ? 3 : 7;
const CIFAR = path.resolve(ROOT, '..', 'shared', 'data', 'cifar10-test');
const TORCH_PY = '/usr/bin/python3';

interface Row {
  name: string;
  engine: string;
  msPerStep: number | null;
  gflops: number | null;
  vsTorch: number | null;
  note?: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(fn: () => Promise<unknown>, reps = REPS, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Multiply-adds of VGG16's convolutions per image at `size`, from conv index `from` (0-12) on. */
function vggConvMacs(size: number, from = 0): number {
  const blocks = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];
  let macs = 0;
  let ci = 3;
  let s = size;
  let k = 0;
  for (const block of blocks) {
    for (const co of block) {
      if (k++ >= from) macs += s * s * 9 * ci * co;
      ci = co;
    }
    s /= 2;
  }
  return macs;
}
const HEAD_MACS = 512 * 256 + 256;

function torchAvailable(): boolean {
  return spawnSync(TORCH_PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function runTorch(workloads: object[]): Array<{ name: string; msPerStep?: number; seconds?: number }> {
  const out = execFileSync(TORCH_PY, [path.join(ROOT, 'bench', 'torch_peer.py')], { input: JSON.stringify(workloads), maxBuffer: 1 << 24, env: { ...process.env, OMP_NUM_THREADS: '2' } });
  return JSON.parse(out.toString());
}

async function vgg(size: number, head: boolean): Promise<tfl.LayersModel> {
  const base = await applications.vgg16({ weights: null, includeTop: false, inputShape: [size, size, 3] });
  return head ? addHead(base, 'flatten, dense:256:relu, dense:1:sigmoid') : base;
}

async function forwardRows(rows: Row[], torch: Map<string, number>): Promise<void> {
  for (const [size, batch] of [[32, 64], [224, 8]]) {
    const name = `vgg16 forward ${size}x${size} b${batch}`;
    const model = await vgg(size, false);
    const x = tf.randomUniform([batch, size, size, 3], -1, 1).dataSync() as Float32Array;
    const gflop = (2 * vggConvMacs(size) * batch) / 1e9;
    for (const engine of ['ort', 'wasm'] as const) {
      const p = await createPredictor(model, { engine });
      const ms = await timed(() => p.predict(x, batch), engine === 'wasm' && size === 224 ? Math.min(REPS, 3) : REPS, 1);
      await p.dispose();
      rows.push({ name, engine, msPerStep: ms, gflops: gflop / (ms / 1000), vsTorch: torch.has(name) ? (torch.get(name) as number) / ms : null });
    }
    model.dispose();
  }
}

async function trainRows(rows: Row[], torch: Map<string, number>): Promise<void> {
  const parts: Array<[string, string | undefined, number]> = [
    ['head', 'flatten', 2 * HEAD_MACS],
    ['block5', 'block5_conv1', 2 * (vggConvMacs(32, 10) + HEAD_MACS)],
    ['full', undefined, 2 * (vggConvMacs(32) + HEAD_MACS)],
  ];
  for (const [part, from, fwdFlop] of parts) {
    const name = `vgg16 train ${part} 32x32 b64 sgd`;
    if (QUICK && part === 'full') continue;
    const model = await vgg(32, true);
    if (from && from !== 'flatten') unfreezeFrom(model, from);
    const trainer = await OrtTrainer.create(model, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
    const x = tf.randomUniform([64, ...trainer.graph.inputShape], -1, 1).dataSync() as Float32Array;
    const y = Float32Array.from({ length: 64 }, (_, i) => i % 2);
    const ms = await timed(() => trainer.step(x, y, 64, 1e-3), part === 'full' ? Math.min(REPS, 4) : REPS);
    await trainer.dispose();
    // Backward costs about twice the forward: ~3× the forward's FLOPs per step.
    rows.push({ name, engine: 'ort', msPerStep: ms, gflops: (3 * fwdFlop * 64) / 1e9 / (ms / 1000), vsTorch: torch.has(name) ? (torch.get(name) as number) / ms : null });
    // The fallback engine: tfjs on wasm with transferkit's convolution gradient kernels.
    const wasm = await TfjsTrainer.create(model, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } }, 'wasm');
    const wasmMs = await timed(() => wasm.step(x, y, 64, 1e-3), part === 'full' ? 2 : Math.min(REPS, 4), 1);
    await wasm.dispose();
    rows.push({ name, engine: 'wasm', msPerStep: wasmMs, gflops: (3 * fwdFlop * 64) / 1e9 / (wasmMs / 1000), vsTorch: torch.has(name) ? (torch.get(name) as number) / wasmMs : null });
  }
  // MobileNetV2 at 224 (beside PyTorch), and the newer families' two small ones: the forward pass, and
  // fine-tuning from a late block (BatchNorm in inference mode) on the cached outputs before it.
  await zooRows(rows, torch, 'mobilenet_v2', 'block_16_expand', 'block_16');
  await zooRows(rows, torch, 'efficientnet_v2_b0', 'block6a_expand_conv', 'block6a');
  await zooRows(rows, torch, 'mobilenet_v3_small', 'expanded_conv_9_expand', 'expanded_conv_9');
}

async function zooRows(rows: Row[], torch: Map<string, number>, id: string, from: string, block: string): Promise<void> {
  const mn = addHead(await applications.getApplication(id).build({ weights: null, includeTop: false, inputShape: [224, 224, 3] }), 'gap, dense:1:sigmoid');
  const fwdName = `${id} forward 224x224 b8`;
  const x = tf.randomUniform([8, 224, 224, 3], -1, 1).dataSync() as Float32Array;
  for (const engine of ['ort', 'wasm'] as const) {
    const p = await createPredictor(mn.layers[0] as tfl.LayersModel, { engine });
    const ms = await timed(() => p.predict(x, 8));
    await p.dispose();
    rows.push({ name: fwdName, engine, msPerStep: ms, gflops: null, vsTorch: torch.has(fwdName) ? (torch.get(fwdName) as number) / ms : null });
  }
  unfreezeFrom(mn, from);
  const ftName = `${id} train ${block} 224 b8 sgd`;
  const trainer = await OrtTrainer.create(mn, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
  const feats = tf.randomUniform([8, ...trainer.graph.inputShape], -1, 1).dataSync() as Float32Array;
  const labels = Float32Array.from({ length: 8 }, (_, i) => i % 2);
  const ms = await timed(() => trainer.step(feats, labels, 8, 1e-3));
  await trainer.dispose();
  rows.push({ name: ftName, engine: 'ort', msPerStep: ms, gflops: null, vsTorch: torch.has(ftName) ? (torch.get(ftName) as number) / ms : null });
  const wasm = await TfjsTrainer.create(mn, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } }, 'wasm');
  const wasmMs = await timed(() => wasm.step(feats, labels, 8, 1e-3), Math.min(REPS, 4), 1);
  await wasm.dispose();
  rows.push({ name: ftName, engine: 'wasm', msPerStep: wasmMs, gflops: null, vsTorch: torch.has(ftName) ? (torch.get(ftName) as number) / wasmMs : null });
}

/** 2,000 CIFAR-10 images (cat, dog) decoded once and preprocessed for VGG16: the seed workflow's data. */
async function seedData(n: number): Promise<{ x: Float32Array; y: Float32Array }> {
  const folder = await listImageFolder(CIFAR);
  const pick = folder.files.filter((f) => ['cat', 'dog'].includes(folder.classNames[f.label]));
  const cat = folder.classNames.indexOf('cat');
  const chosen = [...pick.filter((f) => f.label === cat).slice(0, n / 2), ...pick.filter((f) => f.label !== cat).slice(0, n / 2)];
  const x = new Float32Array(chosen.length * 32 * 32 * 3);
  for (const [i, f] of chosen.entries()) x.set(preprocessPixels(await decodeImage(f.file, { height: 32, width: 32 }), 'caffe'), i * 3072);
  return { x, y: Float32Array.from(chosen, (f) => (f.label === cat ? 0 : 1)) };
}

/** transferkit's way: each frozen prefix computed once, then only the trained part runs every epoch. */
async function seedWorkflowOrt(x: Float32Array, y: Float32Array, epochs: number, batch: number): Promise<number> {
  const n = y.length;
  const t = performance.now();
  const model = await vgg(32, true);
  const base = model.layers[0] as tfl.LayersModel;
  const phases = [
    { from: 'flatten', lr: 1e-3, prefix: () => createPredictor(base, { engine: 'ort' }) },
    { from: 'block5_conv1', lr: 1e-4, prefix: () => createPredictor(model, { engine: 'ort', until: 'block5_conv1' }) },
  ];
  for (const phase of phases) {
    if (phase.from === 'flatten') freeze(base);
    else unfreezeFrom(model, phase.from);
    const predictor = await phase.prefix();
    const rowSize = predictor.outputShape(1).slice(1).reduce((a, b) => a * b, 1);
    const cached = new Float32Array(n * rowSize);
    for (let s = 0; s < n; s += 256) {
      const m = Math.min(256, n - s);
      cached.set(await predictor.predict(x.subarray(s * 3072, (s + m) * 3072), m), s * rowSize);
    }
    await predictor.dispose();
    const trainer = await OrtTrainer.create(model, { from: phase.from, loss: 'binary_crossentropy', optimizer: { name: 'adam' } });
    for (let e = 0; e < epochs; e++) {
      for (let s = 0; s < n; s += batch) {
        const m = Math.min(batch, n - s);
        await trainer.step(cached.subarray(s * rowSize, (s + m) * rowSize), y.subarray(s, s + m), m, phase.lr);
      }
    }
    trainer.writeBack();
    await trainer.dispose();
  }
  return (performance.now() - t) / 1000;
}

/** Peak RSS (MB) of one CLI run, by /usr/bin/time. */
function peakRssMb(args: string[], env: Record<string, string> = {}): number | null {
  if (!existsSync(CIFAR) || !existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  const kb = Number(r.stderr.trim().split('\n').pop());
  return Number.isFinite(kb) ? kb / 1024 : null;
}

function extractRss(): number | null {
  return peakRssMb(['extract', CIFAR, '--base', 'vgg16', '--weights', 'none', '--input-size', '32', '--out', path.join(os.tmpdir(), `transferkit-bench-${process.pid}.npy`)]);
}

/** Training on all 10,000 images at 96x96 (features of 9 KB each): in-memory features against the disk cache. */
function trainRss(): { memory: number | null; disk: number | null } {
  const args = ['train', CIFAR, '--base', 'mobilenet', '--alpha', '0.25', '--weights', 'none', '--input-size', '96', '--epochs', '2'];
  const home = path.join(os.tmpdir(), `transferkit-bench-home-${process.pid}`);
  return { memory: peakRssMb(args), disk: peakRssMb([...args, '--feature-cache', 'disk'], { TRANSFERKIT_HOME: home }) };
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const hasTorch = torchAvailable();
  const hasCifar = existsSync(CIFAR);
  const seedN = QUICK ? 500 : 2000;
  const seedEpochs = QUICK ? 2 : 10;
  const torchTimes = new Map<string, number>();
  let torchSeed: number | null = null;
  let seedFiles: { images: string; labels: string } | undefined;
  let seed: { x: Float32Array; y: Float32Array } | undefined;
  if (hasCifar) {
    seed = await seedData(seedN);
    const dir = mkdtemp();
    seedFiles = { images: path.join(dir, 'x.npy'), labels: path.join(dir, 'y.npy') };
    await writeNpy(seedFiles.images, seed.x, [seed.y.length, 32, 32, 3]);
    await writeNpy(seedFiles.labels, seed.y, [seed.y.length]);
  }
  if (hasTorch) {
    const workloads: object[] = [
      { kind: 'forward', name: 'vgg16 forward 32x32 b64', size: 32, batch: 64, reps: REPS },
      { kind: 'forward', name: 'vgg16 forward 224x224 b8', size: 224, batch: 8, reps: REPS },
      ...['head', 'block5', ...(QUICK ? [] : ['full'])].map((part) => ({ kind: 'train', name: `vgg16 train ${part} 32x32 b64 sgd`, part, size: 32, batch: 64, reps: REPS })),
      { kind: 'forward', name: 'mobilenet_v2 forward 224x224 b8', model: 'mobilenet_v2', size: 224, batch: 8, reps: REPS },
      { kind: 'train', name: 'mobilenet_v2 train block_16 224 b8 sgd', model: 'mobilenet_v2', size: 224, batch: 8, reps: REPS },
      ...(seedFiles ? [{ kind: 'seed', name: 'seed', ...seedFiles, epochs: seedEpochs, batch: 32 }] : []),
    ];
    for (const r of runTorch(workloads)) {
      if (r.name === 'seed') torchSeed = r.seconds ?? null;
      else torchTimes.set(r.name, r.msPerStep as number);
    }
  } else {
    process.stderr.write('bench: PyTorch is not installed (apt-get install --no-install-recommends python3-torch): its column stays empty\n');
  }
  const rows: Row[] = [];
  await forwardRows(rows, torchTimes);
  await trainRows(rows, torchTimes);
  for (const [name, ms] of torchTimes) rows.push({ name, engine: 'torch', msPerStep: ms, gflops: null, vsTorch: 1 });
  const transferkitSeed = seed ? await seedWorkflowOrt(seed.x, seed.y, seedEpochs, 32) : null;
  const rssMb = QUICK ? null : extractRss();
  const fitRss = QUICK ? { memory: null, disk: null } : trainRss();
  const result = {
    date: new Date().toISOString(),
    quick: QUICK,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, memoryGb: Math.round(os.totalmem() / 2 ** 30) },
    workloads: rows,
    seedWorkflow: { images: seedN, epochsPerPhase: seedEpochs, transferkitS: transferkitSeed, torchNaiveS: torchSeed, ratio: transferkitSeed && torchSeed ? transferkitSeed / torchSeed : null },
    extractPeakRssMb: rssMb,
    trainPeakRssMb: fitRss,
  };
  const fmt = (v: number | null, d = 1) => (v === null ? '-' : v.toFixed(d));
  process.stdout.write(
    textTable(
      ['Workload', 'Engine', 'ms/step', 'GFLOP/s', 'vs torch', 'Note'],
      rows.map((r) => [r.name, r.engine, fmt(r.msPerStep), fmt(r.gflops), r.vsTorch === null ? '-' : `${r.vsTorch.toFixed(2)}x`, r.note ?? '']),
      [false, false, true, true, true, false],
    ),
  );
  process.stdout.write(`\nseed workflow (${seedN} images, ${seedEpochs}+${seedEpochs} epochs): transferkit ${fmt(transferkitSeed)} s, PyTorch the Keras way ${fmt(torchSeed)} s, ratio ${fmt(result.seedWorkflow.ratio, 2)}\n`);
  if (rssMb !== null) process.stdout.write(`extract over the 10,000 CIFAR-10 test images at 32x32: peak RSS ${rssMb.toFixed(0)} MB\n`);
  if (fitRss.memory !== null) process.stdout.write(`train on the 10,000 images at 96x96: peak RSS ${fitRss.memory.toFixed(0)} MB with features in memory, ${fmt(fitRss.disk, 0)} MB with --feature-cache disk\n`);
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${result.date.slice(0, 10)}${QUICK ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
}

function mkdtemp(): string {
  const dir = path.join(os.tmpdir(), `transferkit-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function writeNpy(file: string, data: Float32Array, shape: number[]): Promise<void> {
  const w = await NpyWriter.open(file, shape.slice(1));
  await w.append(data, shape[0]);
  await w.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
