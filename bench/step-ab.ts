// `node dist/bench/step-ab.js --base=DIR [--models=mobilenet_v2,…] [--rounds=7] [--steps=3] [--threads=N]
// [--optimizer=sgd|adam|rmsprop|plain-sgd]` (SGD with momentum 0.9 unless said; plain-sgd: without momentum): an
// interleaved A/B of the zoo's compiled fine-tune steps (issue 30, item 2), the step compiler of another build (DIR: a
// copy of a `dist/` built from the base commit, beside a `node_modules` link) against this one, in one process: the
// same model, the same inputs, turns alternating base/new for `rounds` rounds of `steps` steps; prints each side's
// median ms per step with its range (wall clock, and the process's CPU time: at --threads=1 that one holds better
// than the wall clock on a loaded machine), and the largest difference of the first step's loss, output and weights
// and of the weights after every step.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, unfreezeFrom } from '../src/index.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { tuneOrt } from '../src/engine/ort-runtime.js';
import { optimizerArg } from './optimizer-arg.js';
import { STEP_CASES } from './step-cases.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ROUNDS = Number(arg('rounds') ?? 7);
const STEPS = Number(arg('steps') ?? 3);
const THREADS = arg('threads') ? Number(arg('threads')) : undefined;
const OPTIMIZER = optimizerArg(process.argv);

const CASES = STEP_CASES;

type Trainer = Pick<OrtTrainer, 'step' | 'snapshot' | 'dispose' | 'graph'>;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

async function ab(id: string, Base: typeof OrtTrainer): Promise<void> {
  const c = CASES[id];
  const model = await c.model();
  if (c.from !== 'flatten') unfreezeFrom(model, c.from);
  const options = { from: c.from, loss: 'binary_crossentropy' as const, optimizer: OPTIMIZER, batchSize: c.batch };
  const sides: Array<[string, Trainer]> = [
    ['base', await Base.create(model, options)],
    ['new', await OrtTrainer.create(model, options)],
  ];
  const x = tf.randomUniform([c.batch, ...sides[1][1].graph.inputShape], -1, 1, 'float32', 1).dataSync() as Float32Array;
  const y = Float32Array.from({ length: c.batch }, (_, i) => i % 2);
  const first = await Promise.all(sides.map(([, t]) => t.step(x, y, c.batch, 1e-2)));
  const [wa, wb] = sides.map(([, t]) => t.snapshot());
  const weightErr = Math.max(...wa.map((w, i) => maxDiff(w, wb[i]) / (1e-12 + maxAbs(w))));
  process.stdout.write(
    `${id}: first step loss ${first[0].loss} vs ${first[1].loss}, output max diff ${maxDiff(first[0].output, first[1].output).toExponential(2)}, ` +
      `updated weights max relative diff ${weightErr.toExponential(2)}\n`,
  );
  const wall: number[][] = [[], []];
  const cpu: number[][] = [[], []];
  for (let r = 0; r < ROUNDS; r++)
    for (const k of r % 2 ? [1, 0] : [0, 1]) {
      const t = performance.now();
      const u = process.cpuUsage();
      for (let s = 0; s < STEPS; s++) await sides[k][1].step(x, y, c.batch, 1e-2);
      const used = process.cpuUsage(u);
      wall[k].push((performance.now() - t) / STEPS);
      cpu[k].push((used.user + used.system) / 1000 / STEPS);
    }
  // Both sides took the same steps: their weights still agree when the updates (momentum included) do.
  const [ea, eb] = sides.map(([, t]) => t.snapshot());
  const endErr = Math.max(...ea.map((w, i) => maxDiff(w, eb[i]) / (1e-12 + maxAbs(w))));
  process.stdout.write(`  after ${1 + ROUNDS * STEPS} steps each: weights max relative diff ${endErr.toExponential(2)}\n`);
  // Three significant digits: the head-only step takes well under a millisecond.
  const ms = (v: number) => v.toPrecision(3);
  const range = (v: number[]) => `${ms(median(v))} (${ms(Math.min(...v))}–${ms(Math.max(...v))})`;
  for (const [k, [name]] of sides.entries()) process.stdout.write(`  ${name}: wall ${range(wall[k])} ms/step, cpu ${range(cpu[k])} ms/step\n`);
  process.stdout.write(`  new/base medians: wall ${(median(wall[1]) / median(wall[0])).toFixed(2)}, cpu ${(median(cpu[1]) / median(cpu[0])).toFixed(2)}\n`);
  for (const [, t] of sides) await t.dispose();
}

async function main(): Promise<void> {
  const base = arg('base');
  if (!base) throw new Error('bench/step-ab: --base=DIR (a dist/ built from the base commit) is required');
  await initBackend('cpu');
  const { OrtTrainer: Base } = (await import(path.resolve(base, 'src/engine/ort-trainer.js'))) as { OrtTrainer: typeof OrtTrainer };
  if (THREADS) {
    // Each build has its own ort-runtime module, and so its own tuning.
    const baseRuntime = (await import(path.resolve(base, 'src/engine/ort-runtime.js'))) as { tuneOrt: typeof tuneOrt };
    for (const tune of [tuneOrt, baseRuntime.tuneOrt]) tune({ threads: THREADS });
  }
  for (const id of arg('models')?.split(',') ?? Object.keys(CASES)) {
    if (!CASES[id]) throw new Error(`bench/step-ab: no case ${id} (one of ${Object.keys(CASES).join(', ')})`);
    await ab(id, Base);
  }
}

await main();
