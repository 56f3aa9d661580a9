// Valid starting files for the fuzz suite, made by the tools users use: real Keras files and weights from
// ../shared, photos from ../shared/data, GeoTIFFs written by GDAL, an ONNX file exported by torch, pydicom's
// test files, and transferkit's own saved model, exports, features files and CSV targets.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, ROOT, SHARED } from '../helpers.js';

/** One valid input: a folder of files, the path a command names, and the files a mutation may damage. */
export interface Seed {
  name: string;
  dir: string;
  /** Relative to `dir`: what the command is given. */
  main: string;
  /** Relative to `dir`: the files mutations pick from. */
  files: string[];
}

export type Format = 'photo' | 'geotiff' | 'keras' | 'keras-h5' | 'weights-h5' | 'saved-model' | 'dicom' | 'onnx' | 'parquet' | 'arrow' | 'csv';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
export const TINY = ['--base', 'mobilenet', '--alpha', '0.25', '--weights', 'none', '--input-size', '32'];

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, TRANSFERKIT_HOME: path.join(cwd, 'home') }, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`fuzz seeds: ${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
}
const tk = (args: string[], cwd: string) => run(process.execPath, [CLI, ...args], cwd);

function seedOf(root: string, name: string, files: Record<string, string>, main = Object.keys(files)[0]): Seed {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [rel, from] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    copyFileSync(from, path.join(dir, rel));
  }
  return { name, dir, main, files: Object.keys(files) };
}

/** Makes every seed under `root`; formats whose tools are absent here are left out (listed in `missing`). */
export async function makeSeeds(root: string): Promise<{ seeds: Map<Format, Seed[]>; missing: string[] }> {
  const { default: sharp } = await import('sharp');
  const seeds = new Map<Format, Seed[]>();
  const missing: string[] = [];
  const work = path.join(root, 'work');
  mkdirSync(work, { recursive: true });
  const cifar = (cls: string, i: number) => path.join(SHARED, 'data', 'cifar10-test', cls, `${String(i).padStart(4, '0')}.jpg`);
  // Model inputs: an RGB photo and a 28x28 grayscale digit-like image.
  await sharp(cifar('frog', 0)).png().toFile(path.join(work, 'frog.png'));
  await sharp(cifar('airplane', 1)).resize(28, 28).greyscale().png().toFile(path.join(work, 'digit.png'));
  const ants = path.join(SHARED, 'data', 'hymenoptera', 'train', 'ants');
  seeds.set('photo', [
    seedOf(root, 'photo-cifar-jpg', { 'in/a.jpg': cifar('airplane', 0) }, 'in'),
    seedOf(root, 'photo-ants-jpg', { 'in/ant.jpg': path.join(ants, readdirSync(ants).sort()[0]) }, 'in'),
    seedOf(root, 'photo-png', { 'in/frog.png': path.join(work, 'frog.png') }, 'in'),
  ]);

  run('/usr/bin/python3', [path.join(ROOT, 'test', 'fuzz', 'gdal_tiles.py'), path.join(work, 'tif')], work);
  seeds.set(
    'geotiff',
    readdirSync(path.join(work, 'tif'))
      .filter((f) => f.endsWith('.tif'))
      .map((f) => seedOf(root, `geotiff-${f}`, { [`in/${f}`]: path.join(work, 'tif', f) }, 'in')),
  );

  const keras = path.join(SHARED, 'keras-models');
  // transferkit's own model (trained by the CLI), and its exports.
  const data = path.join(work, 'data');
  for (const [cls, name] of [
    ['airplane', 'a'],
    ['frog', 'b'],
  ])
    for (let i = 0; i < 4; i++) {
      mkdirSync(path.join(data, name), { recursive: true });
      copyFileSync(cifar(cls, i), path.join(data, name, `${i}.jpg`));
    }
  tk(['train', 'data', ...TINY, '--epochs', '1', '--out', 'model'], work);
  tk(['export', 'model', '--format', 'keras', '--out', 'model.keras'], work);
  tk(['export', 'model', '--format', 'keras-h5', '--out', 'model.h5'], work);
  tk(['export', 'model', '--format', 'onnx', '--out', 'model.onnx'], work);
  const model = (dir: string) => ({
    'model/model.json': path.join(dir, 'model.json'),
    'model/weights.bin': path.join(dir, 'weights.bin'),
    'model/transferkit.json': path.join(dir, 'transferkit.json'),
    'frog.png': path.join(work, 'frog.png'),
  });
  seeds.set('saved-model', [seedOf(root, 'saved-model', model(path.join(work, 'model')), 'model')]);
  const withInput = (name: string, file: string, input: string) =>
    seedOf(root, name, { [path.basename(file)]: file, [path.basename(input)]: path.join(work, input) });
  seeds.set('keras', [
    withInput('keras-k3.12', path.join(keras, 'mnist-k3.12.1.keras'), 'digit.png'),
    withInput('keras-k3.1', path.join(keras, 'mnist-k3.1.1.keras'), 'digit.png'),
    withInput('keras-k2.15', path.join(keras, 'mnist-k2.15.0.keras'), 'digit.png'),
    withInput('keras-transferkit', path.join(work, 'model.keras'), 'frog.png'),
  ]);
  seeds.set('keras-h5', [
    withInput('h5-k2.3', path.join(keras, 'mnist-k2.3.1.h5'), 'digit.png'),
    withInput('h5-k3.10-legacy', path.join(keras, 'fashion-legacyh5-k3.10.0.h5'), 'digit.png'),
    withInput('h5-tm-mobilenetv2', path.join(keras, 'covidxray-tm-mobilenetv2-k2.4.0.h5'), 'frog.png'),
    withInput('h5-transferkit', path.join(work, 'model.h5'), 'frog.png'),
  ]);
  seeds.set('weights-h5', [
    seedOf(root, 'weights-mobilenet', { 'mobilenet_2_5_224_tf_no_top.h5': path.join(SHARED, 'weights', 'mobilenet_2_5_224_tf_no_top.h5') }),
  ]);

  if (existsSync(PYDICOM)) {
    const dicoms = ['CT_small.dcm', 'MR_small_RLE.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'JPEG2000.dcm', 'SC_rgb_small_odd.dcm'];
    seeds.set(
      'dicom',
      dicoms.map((f) => seedOf(root, `dicom-${f}`, { [`in/${f}`]: path.join(PYDICOM, f) }, 'in')),
    );
  } else missing.push(`dicom: ${PYDICOM} absent (python3-pydicom)`);

  // ONNX bases run in ONNX Runtime by `extract` over a one-image folder.
  const onnxSeed = (name: string, file: string) => seedOf(root, name, { [path.basename(file)]: file, 'data/x/frog.png': path.join(work, 'frog.png') });
  const onnx = [onnxSeed('onnx-transferkit', path.join(work, 'model.onnx'))];
  const torch = spawnSync('/usr/bin/python3', [path.join(ROOT, 'test', 'fuzz', 'torch_onnx.py'), path.join(work, 'torch.onnx')], { encoding: 'utf8' });
  if (torch.status === 0) onnx.push(onnxSeed('onnx-torch', path.join(work, 'torch.onnx')));
  else missing.push(`onnx from torch: ${torch.stderr.split('\n').filter(Boolean).pop()}`);
  seeds.set('onnx', onnx);

  tk(['extract', 'data', ...TINY, '--out', 'features.parquet'], work);
  tk(['extract', 'data', ...TINY, '--out', 'features.arrow'], work);
  seeds.set('parquet', [seedOf(root, 'parquet', { 'features.parquet': path.join(work, 'features.parquet') })]);
  seeds.set('arrow', [seedOf(root, 'arrow', { 'features.arrow': path.join(work, 'features.arrow') })]);

  const rows = ['file,target', ...[0, 1, 2, 3].flatMap((i) => [`a/${i}.jpg,${i * 0.5}`, `b/${i}.jpg,${2 + i * 0.25}`])];
  writeFileSync(path.join(work, 'targets.csv'), rows.join('\n') + '\n');
  const images = Object.fromEntries(['a', 'b'].flatMap((c) => [0, 1, 2, 3].map((i) => [`${c}/${i}.jpg`, path.join(data, c, `${i}.jpg`)])));
  seeds.set('csv', [seedOf(root, 'csv', { 'targets.csv': path.join(work, 'targets.csv'), ...images })]);
  for (const s of seeds.get('csv') ?? []) s.files = ['targets.csv'];
  return { seeds, missing };
}
