// `npm run bench [-- --quick] [-- --only=startup,e2e,steps,vit,zoo,memory,seed,rss,shards,fuzz] [-- --peers=all] [-- --no-compile]`:
// transferkit side by side with PyTorch (2 threads) in one run: the newest PyTorch on the machine (the project's
// .venv-torch2, made from the local package index, else Debian's python3-torch), eager in its faster memory format
// and, for PyTorch 2.x, through torch.compile; `--peers=all` times every PyTorch found. Prints a table and writes
// bench/results/<date>.json.
import { spawnSync } from 'node:child_process';
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
import { graphPredictor } from '../src/engine/graph-predictor.js';
import { encodeBase, loadOnnxBase } from '../src/engine/onnx-base.js';
import { endToEnd, startup } from './processes.js';
import { type PeerAnswer, type Paired, TorchPeer, findPeers, median, paired } from './peer.js';
import { describeShardBench, shardedExtract } from './shards.js';
import { fuzzBench } from './fuzz.js';
import { graphFineTune } from './graph-step.js';
import { type StepMemory, type StepScaling, stepMemory, stepScaling } from './memory.js';
import { scratchDir } from '../src/util/fs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const QUICK = process.argv.includes('--quick');
// `--only=startup,e2e,steps,vit,zoo,memory,seed,rss,shards` runs some sections (default: all); `--only=fuzz` runs
// the long fuzz draw instead (bench/fuzz.ts).
const ONLY = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const run = (section: string) => !ONLY || ONLY.includes(section);
// `--models=convnext_tiny,efficientnet_v2_s` limits the zoo section to some models.
const MODELS = process.argv
  .find((a) => a.startsWith('--models='))
  ?.slice(9)
  .split(',');
const ALL_PEERS = process.argv.includes('--peers=all');
const COMPILE = !process.argv.includes('--no-compile');
const REPS = QUICK ? 3 : 7;
/** Alternating rounds per paired workload (each round: REPS timed steps on each side). */
const ROUNDS = QUICK ? 3 : 5;
const CIFAR = path.resolve(ROOT, '..', 'shared', 'data', 'cifar10-test');
interface Row {
  name: string;
  engine: string;
  msPerStep: number | null;
  gflops: number | null;
  /** PyTorch's time over ours: the median of the paired rounds' ratios, and their range. */
  vsTorch: number | null;
  spread?: [number, number] | null;
  /** The range of this side's round medians (ms). */
  range?: [number, number] | null;
  note?: string;
}

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
  const blocks = [
    [64, 64],
    [128, 128],
    [256, 256, 256],
    [512, 512, 512],
    [512, 512, 512],
  ];
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

/**
 * The ORT side of a workload timed alternately with each PyTorch peer's (eager, and compiled for PyTorch 2.x): a row
 * per side. The ORT row's ratio is against the first peer's eager step; each PyTorch row carries the ratio of its own
 * pairing (its time / ours).
 */
async function pairedRow(
  rows: Row[],
  name: string,
  gflop: number | null,
  ours: () => Promise<unknown>,
  peers: TorchPeer[],
  workload: object,
  reps = REPS,
): Promise<Paired> {
  await ours(); // warm-up: the first runs plan memory
  const gflops = (ms: number | null) => (gflop === null || ms === null ? null : gflop / (ms / 1000));
  const oursTimed = () => timed(ours, reps, 1);
  let first: Paired | null = null;
  for (const peer of peers) {
    let format: string | undefined;
    for (const compile of peer.major >= 2 && COMPILE ? [false, true] : [false]) {
      const ask = (): Promise<PeerAnswer> => peer.ask({ ...workload, name, reps, compile, format });
      const probe = await ask(); // the peer's warm-up (and its compilation), and whether it runs at all
      const engine = `torch ${peer.version} ${compile ? 'compile' : `eager ${probe.format ?? ''}`}`.trim();
      if (typeof probe.msPerStep !== 'number') {
        rows.push({ name, engine, msPerStep: null, gflops: null, vsTorch: null, note: probe.error ?? 'no answer' });
        continue;
      }
      format ??= probe.format;
      const p = await paired(ROUNDS, oursTimed, async () => (await ask()).msPerStep as number);
      if (!first) {
        first = p;
        rows.push({ name, engine: 'ort', msPerStep: p.ours, gflops: gflops(p.ours), vsTorch: p.ratio, spread: p.spread, range: p.oursRange });
      }
      rows.push({ name, engine, msPerStep: p.theirs, gflops: gflops(p.theirs), vsTorch: p.ratio, spread: p.spread, range: p.theirsRange });
    }
  }
  if (first) return first;
  const alone = await paired(ROUNDS, oursTimed);
  rows.push({ name, engine: 'ort', msPerStep: alone.ours, gflops: gflops(alone.ours), vsTorch: null, range: alone.oursRange });
  return alone;
}

/** The wasm fallback, timed on its own and set against PyTorch's median. */
function wasmRow(rows: Row[], name: string, gflop: number | null, ms: number, torch: Paired): void {
  rows.push({
    name,
    engine: 'wasm',
    msPerStep: ms,
    gflops: gflop === null ? null : gflop / (ms / 1000),
    vsTorch: torch.theirs === null ? null : torch.theirs / ms,
  });
}

async function vgg(size: number, head: boolean): Promise<tfl.LayersModel> {
  const base = await applications.vgg16({ weights: null, includeTop: false, inputShape: [size, size, 3] });
  return head ? addHead(base, 'flatten, dense:256:relu, dense:1:sigmoid') : base;
}

async function forwardRows(rows: Row[], peers: TorchPeer[]): Promise<void> {
  for (const [size, batch] of [
    [32, 64],
    [224, 8],
  ]) {
    const name = `vgg16 forward ${size}x${size} b${batch}`;
    const model = await vgg(size, false);
    const x = tf.randomUniform([batch, size, size, 3], -1, 1).dataSync() as Float32Array;
    const gflop = (2 * vggConvMacs(size) * batch) / 1e9;
    const ort = await createPredictor(model, { engine: 'ort' });
    const torch = await pairedRow(rows, name, gflop, () => ort.predict(x, batch), peers, { kind: 'forward', size, batch });
    await ort.dispose();
    const wasm = await createPredictor(model, { engine: 'wasm' });
    wasmRow(rows, name, gflop, await timed(() => wasm.predict(x, batch), size === 224 ? Math.min(REPS, 3) : REPS, 1), torch);
    await wasm.dispose();
    model.dispose();
  }
}

async function trainRows(rows: Row[], peers: TorchPeer[]): Promise<void> {
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
    // Backward costs about twice the forward: ~3× the forward's FLOPs per step.
    const gflop = (3 * fwdFlop * 64) / 1e9;
    const reps = part === 'full' ? Math.min(REPS, 4) : REPS;
    const torch = await pairedRow(rows, name, gflop, () => trainer.step(x, y, 64, 1e-3), peers, { kind: 'train', part, size: 32, batch: 64 }, reps);
    await trainer.dispose();
    // The fallback engine: tfjs on wasm with transferkit's convolution gradient kernels.
    const wasm = await TfjsTrainer.create(model, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } }, 'wasm');
    wasmRow(rows, name, gflop, await timed(() => wasm.step(x, y, 64, 1e-3), part === 'full' ? 2 : Math.min(REPS, 4), 1), torch);
    await wasm.dispose();
  }
}

/**
 * Models of the catalogue at 224: the forward pass, and fine-tuning from a late block (BatchNorm in inference
 * mode) on the cached outputs before it. Beside PyTorch where torchvision (or the peer) has the same model.
 */
async function zooSection(rows: Row[], peers: TorchPeer[]): Promise<void> {
  await zooRows(rows, peers, 'mobilenet_v2', 'block_16_expand', 'block_16');
  await zooRows(rows, peers, 'convnext_tiny', 'convnext_tiny_downsampling_layernorm_2', 'stage_3');
  // torchvision has EfficientNetV2-S, not B0: B0 runs alone, S beside PyTorch.
  await zooRows(rows, [], 'efficientnet_v2_b0', 'block6a_expand_conv', 'block6a');
  await zooRows(rows, peers, 'efficientnet_v2_s', 'block6a_expand_conv', 'block6a');
  await zooRows(rows, [], 'mobilenet_v3_small', 'expanded_conv_9_expand', 'expanded_conv_9');
}

async function zooRows(rows: Row[], peers: TorchPeer[], id: string, from: string, block: string): Promise<void> {
  if (MODELS && !MODELS.includes(id)) return;
  const mn = addHead(await applications.getApplication(id).build({ weights: null, includeTop: false, inputShape: [224, 224, 3] }), 'gap, dense:1:sigmoid');
  const fwdName = `${id} forward 224x224 b8`;
  const x = tf.randomUniform([8, 224, 224, 3], -1, 1).dataSync() as Float32Array;
  const ort = await createPredictor(mn.layers[0] as tfl.LayersModel, { engine: 'ort' });
  const fwdTorch = await pairedRow(rows, fwdName, null, () => ort.predict(x, 8), peers, { kind: 'forward', model: id, size: 224, batch: 8 });
  await ort.dispose();
  const wasmP = await createPredictor(mn.layers[0] as tfl.LayersModel, { engine: 'wasm' });
  wasmRow(rows, fwdName, null, await timed(() => wasmP.predict(x, 8)), fwdTorch);
  await wasmP.dispose();
  unfreezeFrom(mn, from);
  const ftName = `${id} train ${block} 224 b8 sgd`;
  const trainer = await OrtTrainer.create(mn, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
  const feats = tf.randomUniform([8, ...trainer.graph.inputShape], -1, 1).dataSync() as Float32Array;
  const labels = Float32Array.from({ length: 8 }, (_, i) => i % 2);
  const ftTorch = await pairedRow(rows, ftName, null, () => trainer.step(feats, labels, 8, 1e-3), peers, { kind: 'train', model: id, size: 224, batch: 8 });
  await trainer.dispose();
  const wasm = await TfjsTrainer.create(mn, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } }, 'wasm');
  wasmRow(rows, ftName, null, await timed(() => wasm.step(feats, labels, 8, 1e-3), Math.min(REPS, 4), 1), ftTorch);
  await wasm.dispose();
}

/**
 * Exported graphs as ONNX bases (torchvision's models, random weights, exported by the first peer): ViT-B/16's
 * forward pass at 224 (batch 8) and a step of its last 2 blocks + a new head on the cached input of block 10
 * (issue 16, item 5); ConvNeXt-Tiny's step of its last downsampling and stage + head. Once from the TorchScript
 * exporter's graph and, where the peer is PyTorch 2.x, once from the dynamo exporter's (its default).
 */
async function graphRows(rows: Row[], peers: TorchPeer[]): Promise<void> {
  if (!peers.length) {
    process.stderr.write('bench: the exported-graph rows need PyTorch to export the models: skipped\n');
    return;
  }
  for (const model of ['vit_b_16', 'convnext_tiny'])
    for (const dynamo of peers[0].major >= 2 ? [false, true] : [false]) {
      const label = `${model} ONNX${dynamo ? ' (dynamo export)' : ''}`;
      try {
        await graphModelRows(rows, peers, model, label, dynamo);
      } catch (err) {
        rows.push({ name: label, engine: 'ort', msPerStep: null, gflops: null, vsTorch: null, note: (err as Error).message.split('\n')[0] });
      }
    }
}

async function graphModelRows(rows: Row[], peers: TorchPeer[], model: string, label: string, dynamo: boolean): Promise<void> {
  const file = path.join(scratchDir('transferkit-bench-'), `${model}.onnx`);
  const exported = await peers[0].ask({ kind: 'export', name: 'export', path: file, model, dynamo });
  if (exported.error) throw new Error(`PyTorch's export failed: ${exported.error}`);
  const base = loadOnnxBase(file);
  if (model === 'vit_b_16') {
    const x = tf.randomUniform([8, 224, 224, 3], 0, 255).dataSync() as Float32Array;
    const predictor = await graphPredictor(encodeBase(base), { imageShape: [224, 224, 3], label: model });
    // ~17.6 GFLOP (multiply-adds ×2) per image.
    await pairedRow(rows, `${label} forward 224 b8`, 8 * 35.1, () => predictor.predict(x, 8), peers, { kind: 'forward', model, size: 224, batch: 8 });
    await predictor.dispose();
  }
  const { trainer, cutShape } = await graphFineTune(base);
  const feats = tf.randomUniform([8, ...cutShape], -1, 1).dataSync() as Float32Array;
  const labels = Float32Array.from({ length: 8 }, (_, i) => i % 2);
  await pairedRow(rows, `${label} train last 2 blocks + head 224 b8 sgd`, null, () => trainer.step(feats, labels, 8, 1e-3), peers, {
    kind: 'train',
    model,
    size: 224,
    batch: 8,
  });
  await trainer.dispose();
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
    const rowSize = predictor
      .outputShape(1)
      .slice(1)
      .reduce((a, b) => a * b, 1);
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
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const kb = Number(r.stderr.trim().split('\n').pop());
  return Number.isFinite(kb) ? kb / 1024 : null;
}

function extractRss(): number | null {
  return peakRssMb([
    'extract',
    CIFAR,
    '--base',
    'vgg16',
    '--weights',
    'none',
    '--input-size',
    '32',
    '--out',
    path.join(scratchDir('transferkit-bench-'), 'features.npy'),
  ]);
}

/** Training on all 10,000 images at 96x96 (features of 9 KB each): in-memory features against the disk cache. */
function trainRss(): { memory: number | null; disk: number | null } {
  const args = ['train', CIFAR, '--base', 'mobilenet', '--alpha', '0.25', '--weights', 'none', '--input-size', '96', '--epochs', '2'];
  const home = scratchDir('transferkit-bench-home-');
  return { memory: peakRssMb(args), disk: peakRssMb([...args, '--feature-cache', 'disk'], { TRANSFERKIT_HOME: home }) };
}

async function main(): Promise<void> {
  // The fuzz draw is long and times nothing: it runs only when named, alone.
  if (ONLY?.includes('fuzz')) {
    const dir = path.join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    if (!(await fuzzBench(dir))) process.exitCode = 1;
    return;
  }
  await initBackend('wasm');
  const hasCifar = existsSync(CIFAR);
  const seedN = QUICK ? 500 : 2000;
  const seedEpochs = QUICK ? 2 : 10;
  const found = findPeers(ROOT, !process.argv.includes('--no-venv'));
  const peers = (ALL_PEERS ? found : found.slice(0, 1)).map((p) => TorchPeer.start(path.join(ROOT, 'bench'), p));
  if (!peers.length)
    process.stderr.write('bench: PyTorch is not installed (apt-get install --no-install-recommends python3-torch python3-pil): its column stays empty\n');
  const peer = peers[0] ?? null;
  const starts = run('startup') ? startup(ROOT, QUICK ? 5 : 11) : [];
  const e2e =
    hasCifar && run('e2e') ? await endToEnd(ROOT, path.resolve(ROOT, '..', 'shared'), { rounds: QUICK ? 2 : 4, python: found[0]?.python ?? null }) : [];
  const rows: Row[] = [];
  if (run('steps')) {
    await forwardRows(rows, peers);
    await trainRows(rows, peers);
  }
  if (run('vit')) await graphRows(rows, peers);
  if (run('zoo')) await zooSection(rows, peers);
  let memory: StepMemory[] = [];
  let scaling: StepScaling | null = null;
  if (run('memory') && peer && !QUICK) {
    const file = path.join(scratchDir('transferkit-bench-'), 'vit_b_16.onnx');
    await peer.ask({ kind: 'export', name: 'export', path: file });
    memory = stepMemory(ROOT, file, found[0]);
    scaling = stepScaling(ROOT, file);
  }
  let seed: { x: Float32Array; y: Float32Array } | undefined;
  let torchSeed: number | null = null;
  if (hasCifar && run('seed')) {
    seed = await seedData(seedN);
    if (peer) {
      const dir = scratchDir('transferkit-bench-');
      const files = { images: path.join(dir, 'x.npy'), labels: path.join(dir, 'y.npy') };
      await writeNpy(files.images, seed.x, [seed.y.length, 32, 32, 3]);
      await writeNpy(files.labels, seed.y, [seed.y.length]);
      torchSeed = (await peer.ask({ kind: 'seed', name: 'seed', ...files, epochs: seedEpochs, batch: 32 })).seconds ?? null;
    }
  }
  for (const p of peers) p.close();
  const transferkitSeed = seed ? await seedWorkflowOrt(seed.x, seed.y, seedEpochs, 32) : null;
  const rssMb = QUICK || !run('rss') ? null : extractRss();
  const fitRss = QUICK || !run('rss') ? { memory: null, disk: null } : trainRss();
  const sharded = QUICK || !run('shards') ? null : await shardedExtract();
  const result = {
    date: new Date().toISOString(),
    quick: QUICK,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, memoryGb: Math.round(os.totalmem() / 2 ** 30) },
    peers: found.map((p, i) => ({ ...p, timed: ALL_PEERS || i === 0 })),
    method: `ORT and each PyTorch timed alternately (a ${200} ms pause between turns), ${ROUNDS} rounds of ${REPS} steps per workload; PyTorch at 2 intra-op threads, 1 inter-op, OMP/MKL at 2, eager in the faster of contiguous and channels_last, and torch.compile for 2.x; vsTorch is the median of the rounds' ratios (PyTorch's time / ours), spread their range; range is each side's round medians`,
    startup: starts,
    endToEnd: e2e,
    workloads: rows,
    seedWorkflow: {
      images: seedN,
      epochsPerPhase: seedEpochs,
      transferkitS: transferkitSeed,
      torchNaiveS: torchSeed,
      ratio: transferkitSeed && torchSeed ? transferkitSeed / torchSeed : null,
    },
    stepMemory: memory,
    stepScaling: scaling,
    extractPeakRssMb: rssMb,
    trainPeakRssMb: fitRss,
    shardedExtract: sharded,
  };
  const fmt = (v: number | null, d = 1) => (v === null ? '-' : v.toFixed(d));
  const vs = (r: { vsTorch: number | null; spread?: [number, number] | null }) =>
    r.vsTorch === null ? '-' : `${r.vsTorch.toFixed(2)}x${r.spread ? ` (${r.spread[0].toFixed(2)}-${r.spread[1].toFixed(2)})` : ''}`;
  process.stdout.write(
    textTable(
      ['Workload', 'Engine', 'ms/step', 'GFLOP/s', 'vs torch (range)', 'Note'],
      rows.map((r) => [r.name, r.engine, fmt(r.msPerStep), fmt(r.gflops), vs(r), r.note ?? '']),
      [false, false, true, true, true, false],
    ),
  );
  process.stdout.write('\nStart-up (whole process, median): ' + starts.map((s) => `${s.command} ${s.ms.toFixed(0)} ms`).join(', ') + '\n');
  for (const e of e2e) {
    process.stdout.write(`${e.name}: transferkit ${e.transferkitS.toFixed(2)} s, PyTorch ${fmt(e.torchS, 2)} s, ${vs(e)}\n`);
  }
  process.stdout.write(
    `\nseed workflow (${seedN} images, ${seedEpochs}+${seedEpochs} epochs): transferkit ${fmt(transferkitSeed)} s, PyTorch the Keras way ${fmt(torchSeed)} s, ratio ${fmt(result.seedWorkflow.ratio, 2)}\n`,
  );
  if (rssMb !== null) process.stdout.write(`extract over the 10,000 CIFAR-10 test images at 32x32: peak RSS ${rssMb.toFixed(0)} MB\n`);
  if (fitRss.memory !== null)
    process.stdout.write(
      `train on the 10,000 images at 96x96: peak RSS ${fitRss.memory.toFixed(0)} MB with features in memory, ${fmt(fitRss.disk, 0)} MB with --feature-cache disk\n`,
    );
  for (const m of memory)
    process.stdout.write(
      `vit_b_16 last 2 blocks + head, batch ${m.batch}: peak RSS ${fmt(m.ours?.peakRssMb ?? null, 0)} MB (${fmt(m.ours?.msPerStep ?? null)} ms/step), PyTorch ${fmt(m.torch?.peakRssMb ?? null, 0)} MB (${fmt(m.torch?.msPerStep ?? null)} ms/step)\n`,
    );
  if (scaling)
    process.stdout.write(
      `${scaling.workload}: ${fmt(scaling.oneCore?.imagesPerS ?? null)} images/s on 1 core, ${fmt(scaling.twoCores?.imagesPerS ?? null)} on 2\n`,
    );
  if (sharded) process.stdout.write(describeShardBench(sharded));
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${result.date.slice(0, 10)}${QUICK ? '-quick' : ''}${ONLY ? `-${ONLY.join('-')}` : ''}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
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
