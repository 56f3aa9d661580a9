// `node dist/bench/stability.js [--rounds=N] [--workloads=head,block5,forward]`: the A/B behind the bench's method
// (issue 30, item 4). Method A is the method as it was (ONNX Runtime's threads spin after each run); B turns the
// spinning off. Both run in the same time window, rounds interleaved A B B A …, against one PyTorch peer, so load on
// a shared machine hits both alike. Per turn it records the time and the share of the CPUs other processes used
// (bench/cpu-share.ts); it prints each side's spread per method and writes bench/results/<date>-stability.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, unfreezeFrom } from '../src/index.js';
import { createPredictor } from '../src/engine/predictor.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { type OrtTuning, tuneOrt } from '../src/engine/ort-runtime.js';
import { textTable } from '../src/report/tables.js';
import { cpuShares, sampleCpu } from './cpu-share.js';
import { SETTLE_MS, TorchPeer, findPeers, timed } from './peer.js';
import { type Spread, correlation, formatSpread, spreadOf } from './spread.js';
import { vgg } from './vgg.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ROUNDS = Number(arg('rounds') ?? 12);
const REPS = 7;
const METHODS: Record<string, OrtTuning> = { A: {}, B: { spinning: false } };

interface Turn {
  ms: number;
  /** Shares of the machine's CPU time during the turn: the Node process's (ORT's threads), the peer's, the rest's. */
  node: number | null;
  peer: number | null;
  others: number | null;
  steal: number | null;
}

/** One timed turn and who else had the CPUs meanwhile. */
async function turn(pids: number[], fn: () => Promise<number>): Promise<Turn> {
  const a = sampleCpu(pids);
  const ms = await fn();
  const share = cpuShares(a, sampleCpu(pids));
  return { ms, node: share?.own[0] ?? null, peer: share?.own[1] ?? null, others: share?.others ?? null, steal: share?.steal ?? null };
}

type Workload = { name: string; peer: object; make: () => Promise<{ run: () => Promise<unknown>; dispose: () => Promise<void> }> };

function workloads(): Workload[] {
  const trainer = (from: string) => async () => {
    const model = await vgg(32, true);
    if (from !== 'flatten') unfreezeFrom(model, from);
    const t = await OrtTrainer.create(model, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
    const x = tf.randomUniform([64, ...t.graph.inputShape], -1, 1).dataSync() as Float32Array;
    const y = Float32Array.from({ length: 64 }, (_, i) => i % 2);
    return { run: () => t.step(x, y, 64, 1e-3), dispose: () => t.dispose() };
  };
  return [
    { name: 'vgg16 train head 32x32 b64 sgd', peer: { kind: 'train', part: 'head', size: 32, batch: 64 }, make: trainer('flatten') },
    { name: 'vgg16 train block5 32x32 b64 sgd', peer: { kind: 'train', part: 'block5', size: 32, batch: 64 }, make: trainer('block5_conv1') },
    {
      name: 'vgg16 forward 32x32 b64',
      peer: { kind: 'forward', size: 32, batch: 64 },
      make: async () => {
        const p = await createPredictor(await vgg(32, false), { engine: 'ort' });
        const x = tf.randomUniform([64, 32, 32, 3], -1, 1).dataSync() as Float32Array;
        return { run: () => p.predict(x, 64), dispose: () => p.dispose() };
      },
    },
  ];
}

interface MethodResult {
  method: string;
  tuning: OrtTuning;
  ours: Turn[];
  theirs: Turn[];
  oursSpread: Spread;
  theirsSpread: Spread;
  ratio: Spread;
}

async function measure(w: Workload, peer: TorchPeer): Promise<MethodResult[]> {
  const sides: Record<string, Awaited<ReturnType<Workload['make']>>> = {};
  for (const [m, t] of Object.entries(METHODS)) {
    tuneOrt(t); // a session takes the tuning it was created under
    sides[m] = await w.make();
    await sides[m].run();
  }
  tuneOrt({});
  const probe = await peer.ask({ ...w.peer, name: w.name, reps: REPS }); // the peer's warm-up and its memory format
  const ask = async () => (await peer.ask({ ...w.peer, name: w.name, reps: REPS, format: probe.format })).msPerStep as number;
  const turns: Record<string, { ours: Turn[]; theirs: Turn[] }> = { A: { ours: [], theirs: [] }, B: { ours: [], theirs: [] } };
  const pids = [process.pid, peer.pid];
  for (let r = 0; r < ROUNDS; r++) {
    for (const m of r % 2 ? ['B', 'A'] : ['A', 'B']) {
      turns[m].ours.push(await turn(pids, () => timed(sides[m].run, REPS, 1)));
      await sleep(SETTLE_MS);
      turns[m].theirs.push(await turn(pids, ask));
      await sleep(SETTLE_MS);
    }
  }
  for (const s of Object.values(sides)) await s.dispose();
  return Object.entries(turns).map(([m, t]) => ({
    method: m,
    tuning: METHODS[m],
    ...t,
    oursSpread: spreadOf(t.ours.map((x) => x.ms)),
    theirsSpread: spreadOf(t.theirs.map((x) => x.ms)),
    ratio: spreadOf(t.theirs.map((x, i) => x.ms / t.ours[i].ms)),
  }));
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const found = findPeers(ROOT, false);
  if (!found.length) throw new Error('bench/stability: no PyTorch here (.venv-torch2 or python3-torch)');
  const peer = TorchPeer.start(path.join(ROOT, 'bench'), found[0]);
  const only = arg('workloads')?.split(',');
  const results = [];
  const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(0)}%`);
  const mean = (t: Turn[], k: 'node' | 'others') => t.reduce((a, x) => a + (x[k] ?? 0), 0) / t.length;
  for (const w of workloads().filter((w) => !only || only.some((o) => w.name.includes(o)))) {
    const methods = await measure(w, peer);
    results.push({ workload: w.name, methods });
    process.stdout.write(
      textTable(
        [
          'Workload',
          'Method',
          'ORT ms (range)',
          'ORT IQR/med',
          'torch ms (range)',
          'torch IQR/med',
          'ratio (range)',
          'node CPU in torch turn',
          'others CPU',
          'r(torch ms, others)',
        ],
        methods.map((m) => [
          w.name,
          `${m.method} ${m.tuning.spinning === false ? 'spinning off' : 'spinning on'}`,
          formatSpread(m.oursSpread),
          pct(m.oursSpread.relIqr),
          formatSpread(m.theirsSpread),
          pct(m.theirsSpread.relIqr),
          `${formatSpread(m.ratio)}x`,
          pct(mean(m.theirs, 'node')),
          pct(mean(m.theirs, 'others')),
          correlation(
            m.theirs.map((t) => t.ms),
            m.theirs.map((t) => t.others ?? 0),
          )?.toFixed(2) ?? '-',
        ]),
        [false, false, true, true, true, true, true, true, true, true],
      ),
    );
  }
  peer.close();
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, load: os.loadavg() },
    peer: found[0],
    method: `A and B interleaved (A B, B A, …) in one window, ${ROUNDS} rounds of ${REPS} steps per side, ${SETTLE_MS} ms between turns; node/peer/others = shares of the machine's CPU time during a turn used by the bench's Node process, the peer, and all other processes`,
    results,
  };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${out.date.slice(0, 10)}-stability.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
