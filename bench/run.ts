// `npm run bench [-- --quick] [-- --only=startup,e2e,steps,vit,zoo,memory,seed,rss,shards,browser,fuzz] [-- --peers=all]
// [-- --no-compile] [-- --gate=0.1] [-- --peer-omp=default]`: transferkit side by side with PyTorch (2 threads each) in one run: the
// newest PyTorch on the machine (the project's .venv-torch2, made from the local package index, else Debian's
// python3-torch), eager in its faster memory format and, for PyTorch 2.x, through torch.compile; `--peers=all` times
// every PyTorch found (2.x and 1.13 in one run). Prints a table with each side's range and writes
// bench/results/<date>.json. bench/stability.ts holds the A/Bs behind the method; bench/op-profile.ts the per-op
// profiles of the slowest steps; bench/browser.ts the browser's step beside Node's and TensorFlow.js's.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, unfreezeFrom } from '../src/index.js';
import { zooModel } from './step-cases.js';
import { createPredictor } from '../src/engine/predictor.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { tuneOrt } from '../src/engine/ort-runtime.js';
import { TfjsTrainer } from '../src/engine/tfjs-trainer.js';
import { graphPredictor } from '../src/engine/graph-predictor.js';
import { encodeFeatureBase, loadOnnxBase } from '../src/engine/onnx-base.js';
import { scratchDir } from '../src/util/fs.js';
import { endToEnd, startup } from './processes.js';
import { BENCH_THREADS, type PeerPython, SETTLE_MS, TorchPeer, choosePeers, findPeers, getPeerWait, setPeerWait, timed } from './peer.js';
import { shardedExtract } from './shards.js';
import { fuzzBench } from './fuzz.js';
import { graphFineTune } from './graph-step.js';
import { type StepMemory, type StepScaling, extractRss, stepMemory, stepScaling, trainRss } from './memory.js';
import { type BenchConfig, type Row, pairedRow, wasmRow } from './rows.js';
import { oneStepBeside, stepGroup } from './step-groups.js';
import { browserBench } from './browser.js';
import { seedData, seedWorkflowOrt, seedWorkflowTorch } from './seed.js';
import { benchLog, elapsedS } from './log.js';
import { type BenchResult, describeResult } from './summary.js';
import { HEAD_MACS, vgg, vggConvMacs } from './vgg.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const QUICK = process.argv.includes('--quick');
// `--only=startup,e2e,steps,vit,zoo,memory,seed,rss,shards` runs some sections (default: all); `--only=fuzz` runs
// the long fuzz draw instead (bench/fuzz.ts).
const ONLY = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const run = (section: string) => !ONLY || ONLY.includes(section);
/** `run` where the section starts now: it says so on stderr. */
const starts = (section: string): boolean => {
  if (run(section)) benchLog(`section ${section}`);
  return run(section);
};
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
const MOBILENET_H5 = path.resolve(ROOT, '..', 'shared', 'weights', 'mobilenet_2_5_224_tf_no_top.h5');
/** Sections that time PyTorch beside us: without them no peer process is started. */
const PEER_SECTIONS = ['e2e', 'steps', 'vit', 'zoo', 'memory', 'seed'];
// `--gate=0.1` times a turn again (up to 3 times) while other processes used more than that share of the CPUs in
// it; by default every turn is kept, its load on record (on a machine loaded all the time retiming does not help:
// bench/stability.ts --ab=gate). `--peer-omp=default` gives PyTorch's OpenMP threads their spinning waits back
// (passive by default: bench/peer.ts's PeerWait).
const GATE_ARG = process.argv.find((a) => a.startsWith('--gate='))?.slice(7);
const MAX_OTHERS = GATE_ARG === undefined || GATE_ARG === 'off' ? null : Number(GATE_ARG);
setPeerWait(process.argv.includes('--peer-omp=default') ? 'default' : 'passive');
const CONFIG: BenchConfig = { reps: REPS, rounds: ROUNDS, compile: COMPILE, maxOthers: MAX_OTHERS };

async function forwardRows(rows: Row[], peers: TorchPeer[]): Promise<void> {
  for (const [size, batch] of [
    [32, 64],
    [224, 8],
  ]) {
    const name = `vgg16 forward ${size}x${size} b${batch}`;
    const model = await vgg(size, false);
    const x = tf.randomUniform([batch, size, size, 3], -1, 1).dataSync() as Float32Array;
    const gflop = (2 * vggConvMacs(size) * batch) / 1e9;
    const ort = await createPredictor(model, { engine: 'ort', batchSize: batch });
    const torch = await pairedRow(CONFIG, rows, name, gflop, () => ort.predict(x, batch), peers, { kind: 'forward', size, batch });
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
    const trainer = await OrtTrainer.create(model, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 }, batchSize: 64 });
    const x = tf.randomUniform([64, ...trainer.graph.inputShape], -1, 1).dataSync() as Float32Array;
    const y = Float32Array.from({ length: 64 }, (_, i) => i % 2);
    // Backward costs about twice the forward: ~3× the forward's FLOPs per step.
    const gflop = (3 * fwdFlop * 64) / 1e9;
    const reps = part === 'full' ? Math.min(REPS, 4) : REPS;
    const group = stepGroup(trainer, x, y, 64, 1e-3);
    const torch = await pairedRow(CONFIG, rows, name, gflop, group.run, peers, { kind: 'train', part, size: 32, batch: 64 }, reps, group.k);
    await oneStepBeside(rows, name, trainer, x, y, 64, reps);
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
  const mn = await zooModel(id);
  const fwdName = `${id} forward 224x224 b8`;
  const x = tf.randomUniform([8, 224, 224, 3], -1, 1).dataSync() as Float32Array;
  const ort = await createPredictor(mn.layers[0] as tfl.LayersModel, { engine: 'ort', batchSize: 8 });
  const fwdTorch = await pairedRow(CONFIG, rows, fwdName, null, () => ort.predict(x, 8), peers, { kind: 'forward', model: id, size: 224, batch: 8 });
  await ort.dispose();
  const wasmP = await createPredictor(mn.layers[0] as tfl.LayersModel, { engine: 'wasm' });
  wasmRow(rows, fwdName, null, await timed(() => wasmP.predict(x, 8), REPS), fwdTorch);
  await wasmP.dispose();
  unfreezeFrom(mn, from);
  const ftName = `${id} train ${block} 224 b8 sgd`;
  const trainer = await OrtTrainer.create(mn, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 }, batchSize: 8 });
  const feats = tf.randomUniform([8, ...trainer.graph.inputShape], -1, 1).dataSync() as Float32Array;
  const labels = Float32Array.from({ length: 8 }, (_, i) => i % 2);
  const group = stepGroup(trainer, feats, labels, 8, 1e-3);
  const ftTorch = await pairedRow(CONFIG, rows, ftName, null, group.run, peers, { kind: 'train', model: id, size: 224, batch: 8 }, CONFIG.reps, group.k);
  await oneStepBeside(rows, ftName, trainer, feats, labels, 8, CONFIG.reps);
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
    const predictor = await graphPredictor(encodeFeatureBase(base), { imageShape: [224, 224, 3], label: model });
    // ~17.6 GFLOP (multiply-adds ×2) per image.
    await pairedRow(CONFIG, rows, `${label} forward 224 b8`, 8 * 35.1, () => predictor.predict(x, 8), peers, { kind: 'forward', model, size: 224, batch: 8 });
    await predictor.dispose();
  }
  const { trainer, cutShape } = await graphFineTune(base);
  const feats = tf.randomUniform([8, ...cutShape], -1, 1).dataSync() as Float32Array;
  const labels = Float32Array.from({ length: 8 }, (_, i) => i % 2);
  const name = `${label} train last 2 blocks + head 224 b8 sgd`;
  const group = stepGroup(trainer, feats, labels, 8, 1e-3);
  await pairedRow(CONFIG, rows, name, null, group.run, peers, { kind: 'train', model, size: 224, batch: 8 }, CONFIG.reps, group.k);
  await oneStepBeside(rows, name, trainer, feats, labels, 8, CONFIG.reps);
  await trainer.dispose();
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
  // Threads set explicitly, the same on both sides (torch_peer.py takes PEER_ENV's); ORT's spinning left as users have it.
  tuneOrt({ threads: BENCH_THREADS });
  const found = PEER_SECTIONS.some(run) ? findPeers(ROOT, !process.argv.includes('--no-venv')) : [];
  const peers = choosePeers(found, ALL_PEERS).map((p) => TorchPeer.start(path.join(ROOT, 'bench'), p));
  if (!peers.length && PEER_SECTIONS.some(run))
    process.stderr.write('bench: PyTorch is not installed (apt-get install --no-install-recommends python3-torch python3-pil): its column stays empty\n');
  const result = await measureAll(found, peers);
  process.stdout.write(describeResult(result));
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${result.date.slice(0, 10)}${QUICK ? '-quick' : ''}${ONLY ? `-${ONLY.join('-')}` : ''}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
}

/** Every section asked for, in an order that keeps the peers' processes alive only while they are needed. */
async function measureAll(found: PeerPython[], peers: TorchPeer[]): Promise<BenchResult> {
  const hasCifar = existsSync(CIFAR);
  const seedN = QUICK ? 500 : 2000;
  const seedEpochs = QUICK ? 2 : 10;
  const peer = peers[0] ?? null;
  const startupMs = starts('startup') ? startup(ROOT, QUICK ? 5 : 11) : [];
  const e2e =
    hasCifar && starts('e2e')
      ? await endToEnd(ROOT, path.resolve(ROOT, '..', 'shared'), { rounds: QUICK ? 2 : 4, python: found[0]?.python ?? null, maxOthers: MAX_OTHERS })
      : [];
  const rows: Row[] = [];
  if (starts('steps')) {
    await forwardRows(rows, peers);
    await trainRows(rows, peers);
  }
  if (starts('vit')) await graphRows(rows, peers);
  if (starts('zoo')) await zooSection(rows, peers);
  let memory: StepMemory[] = [];
  let scaling: StepScaling | null = null;
  if (peer && !QUICK && starts('memory')) {
    const file = path.join(scratchDir('transferkit-bench-'), 'vit_b_16.onnx');
    await peer.ask({ kind: 'export', name: 'export', path: file });
    memory = stepMemory(ROOT, file, found[0]);
    scaling = stepScaling(ROOT, file);
  }
  const seed = hasCifar && starts('seed') ? await seedData(CIFAR, seedN) : null;
  const torchSeed = seed && peer ? await seedWorkflowTorch(peer, seed, seedEpochs) : null;
  for (const p of peers) p.close();
  const transferkitSeed = seed ? await seedWorkflowOrt(seed.x, seed.y, seedEpochs, 32) : null;
  const rss = !QUICK && hasCifar && starts('rss');
  const extractPeakRssMb = rss ? extractRss(ROOT, CIFAR) : null;
  const trainPeakRssMb = rss ? trainRss(ROOT, CIFAR) : { memory: null, disk: null };
  const browser = existsSync(MOBILENET_H5) && starts('browser') ? await browserBench(ROOT, MOBILENET_H5, { rounds: ROUNDS, reps: REPS }) : null;
  return {
    date: new Date().toISOString(),
    quick: QUICK,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, memoryGb: Math.round(os.totalmem() / 2 ** 30) },
    peers: found.map((p) => ({ ...p, timed: peers.some((t) => t.version === p.torch) })),
    anchorTorch: found[0]?.torch ?? null,
    method: `ORT and each PyTorch timed alternately (a ${SETTLE_MS} ms pause between turns), ${ROUNDS} rounds of ${REPS} steps per workload; both sides at ${BENCH_THREADS} intra-op threads (PyTorch: 1 inter-op, OMP/MKL at ${BENCH_THREADS}, OpenMP waits ${getPeerWait()}; ORT's spinning as users have it), eager in the faster of contiguous and channels_last (picked per row by its first round: format, formats), and torch.compile for 2.x; each PyTorch row names its torch; vsTorch is the median of the rounds' ratios (PyTorch's time / ours), spread their range; range is each side's round medians (min-max); ${MAX_OTHERS === null ? 'every turn kept' : `a turn in which other processes used more than ${MAX_OTHERS * 100}% of the CPUs timed again (up to 3 times)`}; load: the share of the CPUs other processes had in the turns kept`,
    startup: startupMs,
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
    extractPeakRssMb,
    trainPeakRssMb,
    shardedExtract: QUICK || !starts('shards') ? null : await shardedExtract(),
    browser,
    wallS: Math.round(elapsedS()),
  };
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
