// `node dist/bench/op-profile.js [--steps=N] [--models=mobilenet_v2,efficientnet_v2_s,convnext_tiny,vgg16_block5,…]
// [--onnx=A.onnx,B.onnx] [--daz] [--tag=NAME] [--top=N] [--optimizer=sgd|adam|rmsprop|plain-sgd]`: where a fine-tune step's time goes, per ONNX op type, by ONNX
// Runtime's profiler (issue 30, item 2): the slowest zoo steps against PyTorch, MobileNetV2 from block_16,
// EfficientNetV2-S from block6a and ConvNeXt-Tiny from stage 3, at 224, batch 8, SGD with momentum, as the bench's
// zoo rows run them (and, named only, vgg16_block5 and vgg16_head: VGG16's steps at 32×32, batch 64, as its vgg
// rows run them); with --onnx instead, the exported-graph steps of the vit rows (each file's last 2 blocks + a
// new head, bench/graph-step.ts). Prints each op type's share of the step's kernel time (and the 15 costliest
// nodes) and writes bench/results/<date>-op-profile[-daz][-NAME].json. Proportions only: on a loaded machine the
// shares hold better than the times.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, unfreezeFrom } from '../src/index.js';
import { zooModel } from './step-cases.js';
import { loadOnnxBase } from '../src/engine/onnx-base.js';
import type { OrtStepTrainer, TrainableStep } from '../src/engine/ort-step-trainer.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { type OrtTuning, tuneOrt } from '../src/engine/ort-runtime.js';
import { textTable } from '../src/report/tables.js';
import { scratchDir } from '../src/util/fs.js';
import { graphFineTune } from './graph-step.js';
import { BENCH_THREADS } from './peer.js';
import { optimizerArg } from './optimizer-arg.js';
import { vgg } from './vgg.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const STEPS = Number(arg('steps') ?? 10);
/** How many of the costliest nodes to list (`--top=N`). */
const TOP = Number(arg('top') ?? 15);
const OPTIMIZER = optimizerArg(process.argv);
/** `--daz`: denormal floats flushed to zero in ORT's sessions, to see whether a slow elementwise node is computing on them. */
const DAZ = process.argv.includes('--daz');
const STEPS_OF: Record<string, [string, string]> = {
  mobilenet_v2: ['block_16_expand', 'block_16'],
  efficientnet_v2_s: ['block6a_expand_conv', 'block6a'],
  convnext_tiny: ['convnext_tiny_downsampling_layernorm_2', 'stage_3'],
};
/** The VGG16 rows' steps at 32×32, batch 64: where training starts. */
const VGG_FROM: Record<string, string> = { vgg16_block5: 'block5_conv1', vgg16_head: 'flatten' };

export interface OpShare {
  op: string;
  nodes: number;
  /** Kernel time per step (ms) and its share of the step's kernel time. */
  msPerStep: number;
  share: number;
}

interface TraceEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string };
}

/**
 * Kernel time by op type from ORT's trace (its "Node" events named `<node>_kernel_time`, durations in µs), over the
 * `runs` runs it covers, largest first.
 */
export function opShares(trace: TraceEvent[], runs: number): OpShare[] {
  const by = new Map<string, { us: number; nodes: Set<string> }>();
  for (const e of trace) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.op_name) continue;
    const s = by.get(e.args.op_name) ?? { us: 0, nodes: new Set<string>() };
    s.us += e.dur ?? 0;
    s.nodes.add(e.name);
    by.set(e.args.op_name, s);
  }
  const total = [...by.values()].reduce((a, s) => a + s.us, 0);
  return [...by.entries()]
    .map(([op, s]) => ({ op, nodes: s.nodes.size, msPerStep: s.us / 1000 / runs, share: total ? s.us / total : 0 }))
    .sort((a, b) => b.share - a.share);
}

/** The `n` nodes with the most kernel time (their names carry the Keras layer they come from), largest first. */
export function topNodes(trace: TraceEvent[], runs: number, n: number): Array<{ node: string; op: string; msPerStep: number; share: number }> {
  const by = new Map<string, { op: string; us: number }>();
  let total = 0;
  for (const e of trace) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.op_name) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    const s = by.get(node) ?? { op: e.args.op_name, us: 0 };
    s.us += e.dur ?? 0;
    total += e.dur ?? 0;
    by.set(node, s);
  }
  return [...by.entries()]
    .map(([node, s]) => ({ node, op: s.op, msPerStep: s.us / 1000 / runs, share: total ? s.us / total : 0 }))
    .sort((a, b) => b.share - a.share)
    .slice(0, n);
}

type Profile = { step: string; wallMsPerStep: number; ops: OpShare[]; nodes: ReturnType<typeof topNodes> };

type Job = { step: string; trainer: OrtStepTrainer<TrainableStep>; inputShape: number[]; batch?: number };

/** VGG16's block5 or head step at 32×32, batch 64, as the bench's vgg rows build it. */
async function vggTrainer(id: string): Promise<Job> {
  const from = VGG_FROM[id];
  const model = await vgg(32, true);
  if (from !== 'flatten') unfreezeFrom(model, from);
  const trainer = await OrtTrainer.create(model, { from, loss: 'binary_crossentropy', optimizer: OPTIMIZER, batchSize: 64 });
  return { step: `${id} train 32 b64 ${arg('optimizer') ?? 'sgd'}`, trainer, inputShape: trainer.graph.inputShape, batch: 64 };
}

/** A zoo model's step from its block, as the bench's zoo rows build it. */
async function zooTrainer(id: string): Promise<Job> {
  if (VGG_FROM[id]) return vggTrainer(id);
  const [from, block] = STEPS_OF[id];
  const model = await zooModel(id);
  unfreezeFrom(model, from);
  const trainer = await OrtTrainer.create(model, { from, loss: 'binary_crossentropy', optimizer: OPTIMIZER, batchSize: 8 });
  return { step: `${id} train ${block} 224 b8 ${arg('optimizer') ?? 'sgd'}`, trainer, inputShape: trainer.graph.inputShape };
}

/** An exported graph's step (its last 2 blocks + head on the cached cut value), as the bench's vit rows build it. */
async function onnxTrainer(file: string): Promise<Job> {
  const { trainer, cutShape } = await graphFineTune(loadOnnxBase(file));
  return { step: `${path.basename(file)} train last 2 blocks + head 224 b8 sgd`, trainer, inputShape: cutShape };
}

/**
 * ORT's trace of what `body` runs (its sessions' profiler on, BENCH_THREADS threads): the last session released
 * with the profile prefix (a graph's probe session may have written one before it).
 */
export async function profiled(name: string, body: () => Promise<void>, tuning: OrtTuning = {}): Promise<TraceEvent[]> {
  const dir = scratchDir('transferkit-op-profile-');
  const prefix = name.replace(/[^\w]+/g, '_');
  tuneOrt({ threads: BENCH_THREADS, profile: path.join(dir, prefix), ...tuning });
  try {
    await body(); // profiles are written when their sessions are released
    const file = readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
      .sort()
      .pop();
    if (!file) throw new Error(`bench: ONNX Runtime wrote no profile for ${name} in ${dir}`);
    return JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  } finally {
    tuneOrt({});
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One step profiled over STEPS runs after its warm-up (the warm-up's runs are in the trace too: counted). */
async function profileStep(name: string, make: () => Promise<Job>): Promise<Profile> {
  let step = '';
  let wallMsPerStep = 0;
  const trace = await profiled(
    name,
    async () => {
      const made = await make();
      const batch = made.batch ?? 8;
      step = made.step;
      const x = tf.randomUniform([batch, ...made.inputShape], -1, 1).dataSync() as Float32Array;
      const y = Float32Array.from({ length: batch }, (_, i) => i % 2);
      await made.trainer.step(x, y, batch, 1e-3);
      const t = performance.now();
      for (let i = 0; i < STEPS; i++) await made.trainer.step(x, y, batch, 1e-3);
      wallMsPerStep = (performance.now() - t) / STEPS;
      await made.trainer.dispose();
    },
    { denormalsAsZero: DAZ },
  );
  return { step, wallMsPerStep, ops: opShares(trace, STEPS + 1), nodes: topNodes(trace, STEPS + 1, TOP) };
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const files = arg('onnx')?.split(',') ?? [];
  const models = arg('models')?.split(',') ?? (files.length ? [] : Object.keys(STEPS_OF));
  const known = [...Object.keys(STEPS_OF), ...Object.keys(VGG_FROM)];
  for (const id of models) if (!known.includes(id)) throw new Error(`bench/op-profile: no step for ${id} (one of ${known.join(', ')})`);
  const jobs = [...models.map((id) => [id, () => zooTrainer(id)] as const), ...files.map((f) => [path.basename(f), () => onnxTrainer(f)] as const)];
  const profiles = [];
  for (const [name, make] of jobs) {
    const p = await profileStep(name, make);
    profiles.push(p);
    process.stdout.write(
      `\n${p.step} (${STEPS} steps, ${BENCH_THREADS} threads)\n` +
        textTable(
          ['Op type', 'Nodes', 'Share of kernel time'],
          p.ops.map((o) => [o.op, String(o.nodes), `${(100 * o.share).toFixed(1)}%`]),
          [false, true, true],
        ) +
        textTable(
          [`Node (top ${TOP})`, 'Op type', 'Share'],
          p.nodes.map((o) => [o.node, o.op, `${(100 * o.share).toFixed(1)}%`]),
          [false, false, true],
        ),
    );
  }
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, load: os.loadavg() },
    steps: STEPS,
    denormalsAsZero: DAZ,
    profiles,
  };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${out.date.slice(0, 10)}-op-profile${DAZ ? '-daz' : ''}${arg('tag') ? `-${arg('tag')}` : ''}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
