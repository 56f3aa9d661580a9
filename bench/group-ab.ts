// `node dist/bench/group-ab.js [--models=mobilenet_v2,…] [--onnx=A.onnx,…] [--k=4] [--rounds=5] [--threads=N]
// [--create=2,4,8] [--side=one|group]`: groups of K steps in one ONNX Runtime run against one step per run (issue 30),
// in one process: the same trainer compiled once per side, the same K batches, turns alternating for `rounds` rounds
// (each turn K steps); prints each side's median ms per step with its range (wall clock and the process's CPU time),
// the largest weight difference after both took the same steps, and the time to open the K-step session for each K
// in --create. --side=one|group runs only that side (a fresh process's peak RSS is then that side's). Zoo steps as
// step-ab's cases; --onnx: exported graphs' last 2 blocks + head (as the bench's graph rows).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, unfreezeFrom } from '../src/index.js';
import type { GraphTrainer } from '../src/engine/graph-trainer.js';
import { unrollStep } from '../src/engine/onnx/unroll.js';
import { loadOnnxBase } from '../src/engine/onnx-base.js';
import { tuneOrt } from '../src/engine/ort-runtime.js';
import { openStepSession } from '../src/engine/ort-step-trainer.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { type StepBatch, takeSteps } from '../src/engine/training.js';
import { graphFineTune } from './graph-step.js';
import { STEP_CASES } from './step-cases.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const K = Number(arg('k') ?? 4);
const ROUNDS = Number(arg('rounds') ?? 5);
const SIDE = arg('side');
const list = (v: string | undefined) => (v ? v.split(',').filter(Boolean) : []);

type Side = OrtTrainer | GraphTrainer;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const ms = (v: number) => v.toPrecision(3);
const range = (v: number[]) => `${ms(median(v))} (${ms(Math.min(...v))}–${ms(Math.max(...v))})`;

/** A case's trainers by steps per execution (one model, so the same initial weights), and its batch size. */
async function trainers(id: string, ks: number[]): Promise<{ ts: Side[]; batch: number }> {
  const c = STEP_CASES[id];
  if (c) {
    const model = await c.model();
    if (c.from !== 'flatten') unfreezeFrom(model, c.from);
    const options = { from: c.from, loss: 'binary_crossentropy' as const, optimizer: { name: 'sgd' as const, momentum: 0.9 }, batchSize: c.batch };
    return { ts: await Promise.all(ks.map((k) => OrtTrainer.create(model, { ...options, stepsPerExecution: k }))), batch: c.batch };
  }
  if (!id.endsWith('.onnx')) throw new Error(`bench/group-ab: no case ${id} (one of ${Object.keys(STEP_CASES).join(', ')}, or --onnx=FILE)`);
  const base = loadOnnxBase(id);
  return { ts: await Promise.all(ks.map(async (k) => (await graphFineTune(base, k)).trainer)), batch: 8 };
}

function batches(t: Side, n: number): StepBatch[] {
  return Array.from({ length: K }, (_, s) => ({
    x: tf.randomUniform([n, ...t.graph.inputShape], -1, 1, 'float32', s + 1).dataSync() as Float32Array,
    y: Float32Array.from({ length: n }, (_, i) => (i + s) % 2),
    n,
    lr: 1e-3,
  }));
}

/** Opening the K-step session of `t`'s step: unrolling, and ORT's session creation (its graph optimizations). */
async function creation(id: string, t: Side): Promise<void> {
  for (const k of list(arg('create')).map(Number)) {
    const t0 = performance.now();
    const step = unrollStep(t.graph, k);
    const t1 = performance.now();
    const { session } = await openStepSession(step.onnx, `${k} steps`);
    const t2 = performance.now();
    await session.release();
    process.stdout.write(`  ${id} K=${k}: unroll ${(t1 - t0).toFixed(0)} ms, session ${(t2 - t1).toFixed(0)} ms (${(step.onnx.length / 1e6).toFixed(1)} MB)\n`);
  }
}

async function ab(id: string): Promise<void> {
  const t0 = performance.now();
  const ks = SIDE === 'one' ? [1] : SIDE === 'group' ? [K] : [1, K];
  const { ts, batch } = await trainers(id, ks);
  process.stdout.write(`${id}: ${ks.length} trainer(s) made in ${(performance.now() - t0).toFixed(0)} ms\n`);
  await creation(id, ts[0]);
  const sides = ts.map((t, i): [string, Side] => [ks[i] === 1 ? 'one-step' : `${K}-step`, t]);
  const base = ts[0];
  const input = batches(base, batch);
  const wall: number[][] = sides.map(() => []);
  const cpu: number[][] = sides.map(() => []);
  for (const [, t] of sides) await takeSteps(t, input); // warm-up: the first run plans memory
  for (let r = 0; r < ROUNDS; r++)
    for (const k of r % 2 ? [...sides.keys()].reverse() : sides.keys()) {
      const w = performance.now();
      const u = process.cpuUsage();
      await takeSteps(sides[k][1], input);
      const used = process.cpuUsage(u);
      wall[k].push((performance.now() - w) / K);
      cpu[k].push((used.user + used.system) / 1000 / K);
    }
  if (sides.length === 2) {
    const [a, b] = sides.map(([, t]) => t.snapshot());
    const diff = Math.max(...a.map((w, i) => w.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i][j]) / (1e-6 + Math.abs(b[i][j]))), 0)));
    process.stdout.write(`  after ${K * (ROUNDS + 1)} steps each: weights max relative diff ${diff.toExponential(2)}\n`);
  }
  for (const [k, [name]] of sides.entries()) process.stdout.write(`  ${name}: wall ${range(wall[k])} ms/step, cpu ${range(cpu[k])} ms/step\n`);
  if (sides.length === 2)
    process.stdout.write(
      `  ${K}-step/one-step medians: wall ${(median(wall[1]) / median(wall[0])).toFixed(2)}, cpu ${(median(cpu[1]) / median(cpu[0])).toFixed(2)}\n`,
    );
  process.stdout.write(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB\n`);
  for (const [, t] of sides) await t.dispose();
}

async function main(): Promise<void> {
  const threads = arg('threads');
  if (threads) tuneOrt({ threads: Number(threads) });
  await initBackend('cpu');
  for (const id of [...list(arg('models')), ...list(arg('onnx'))]) await ab(id);
}

await main();
