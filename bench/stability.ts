// `node dist/bench/stability.js [--ab=spin|settle|omp|gate] [--rounds=N] [--workloads=head,block5,forward]`: the
// A/Bs behind the bench's method (issue 30, item 4). Each compares two ways of timing the same workloads, run in the
// same time window with rounds interleaved A B, B A, … so that load on a shared machine hits both alike; each method
// has its own ORT session and its own PyTorch peer process. spin: ORT's threads spinning after a run (as users
// have them) or not; settle: no pause between turns or the bench's; omp: the peer's OpenMP threads spinning while
// they wait (the default) or passive; gate: every turn kept, or a turn timed again while other processes used more
// than 10% of the CPUs in it (bench/cpu-share.ts). Per turn it records the time and the CPU shares of the bench's
// Node process, the peer and everything else; it prints each side's spread per method and writes
// bench/results/<date>-stability-<ab>.json.
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
import { type Gate, cpuShares, gatedTurn, sampleCpu } from './cpu-share.js';
import { BENCH_THREADS, type PeerWait, SETTLE_MS, TorchPeer, findPeers, timed } from './peer.js';
import { type Spread, correlation, formatSpread, spreadOf } from './spread.js';
import { vgg } from './vgg.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ROUNDS = Number(arg('rounds') ?? 12);
const REPS = 7;
const AB = arg('ab') ?? 'spin';

interface Method {
  label: string;
  ort: OrtTuning;
  peerWait: PeerWait;
  settleMs: number;
  /** The gate's limit on the others' share of the CPUs in a turn; null: every turn kept. */
  maxOthers: number | null;
}

const PLAIN: Method = { label: '', ort: {}, peerWait: 'default', settleMs: SETTLE_MS, maxOthers: null };
const METHODS: Record<string, [Method, Method]> = {
  spin: [
    { ...PLAIN, label: 'ORT spinning on' },
    { ...PLAIN, label: 'ORT spinning off', ort: { spinning: false } },
  ],
  settle: [
    { ...PLAIN, label: 'no pause' },
    { ...PLAIN, label: `${SETTLE_MS} ms pause` },
  ],
  omp: [
    { ...PLAIN, label: 'torch OMP default' },
    { ...PLAIN, label: 'torch OMP passive', peerWait: 'passive' },
  ],
  gate: [
    { ...PLAIN, label: 'every turn kept' },
    { ...PLAIN, label: 'turns gated at 10%', maxOthers: 0.1 },
  ],
};
if (AB === 'settle') METHODS.settle[0].settleMs = 0;

interface Turn {
  ms: number;
  tries: number;
  /** Shares of the machine's CPU time during the turn: the Node process's (ORT's threads), the peer's, the rest's. */
  node: number | null;
  peer: number | null;
  others: number | null;
}

/** One timed turn (gated where the method says) and who had the CPUs in its last try. */
async function turn(m: Method, pids: number[], fn: () => Promise<number>): Promise<Turn> {
  let a = sampleCpu(pids);
  const gate: Gate | null = m.maxOthers === null ? null : { pids, maxOthers: m.maxOthers, retries: 3, pauseMs: m.settleMs };
  const t = await gatedTurn(async () => {
    a = sampleCpu(pids);
    return fn();
  }, gate);
  const share = cpuShares(a, sampleCpu(pids));
  return { ms: t.value, tries: t.tries, node: share?.own[0] ?? null, peer: share?.own[1] ?? null, others: share?.others ?? null };
}

type Side = { run: () => Promise<unknown>; dispose: () => Promise<void> };
type Workload = { name: string; peer: object; make: () => Promise<Side> };

function workloads(): Workload[] {
  const trainer = (from: string) => async () => {
    const model = await vgg(32, true);
    if (from !== 'flatten') unfreezeFrom(model, from);
    const t = await OrtTrainer.create(model, { from, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 }, batchSize: 64 });
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
        const p = await createPredictor(await vgg(32, false), { engine: 'ort', batchSize: 64 });
        const x = tf.randomUniform([64, 32, 32, 3], -1, 1).dataSync() as Float32Array;
        return { run: () => p.predict(x, 64), dispose: () => p.dispose() };
      },
    },
  ];
}

interface MethodResult {
  method: Method;
  ours: Turn[];
  theirs: Turn[];
  oursSpread: Spread;
  theirsSpread: Spread;
  ratio: Spread;
}

async function measure(w: Workload, methods: [Method, Method], peers: [TorchPeer, TorchPeer]): Promise<MethodResult[]> {
  const sides: Side[] = [];
  for (const m of methods) {
    tuneOrt({ threads: BENCH_THREADS, ...m.ort }); // a session takes the tuning it was created under
    sides.push(await w.make());
  }
  tuneOrt({});
  const asks = await Promise.all(
    peers.map(async (peer) => {
      const probe = await peer.ask({ ...w.peer, name: w.name, reps: REPS }); // its warm-up and its memory format
      return async () => (await peer.ask({ ...w.peer, name: w.name, reps: REPS, format: probe.format })).msPerStep as number;
    }),
  );
  const turns = methods.map(() => ({ ours: [] as Turn[], theirs: [] as Turn[] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      const m = methods[i];
      const pids = [process.pid, peers[i].pid];
      turns[i].ours.push(await turn(m, pids, () => timed(sides[i].run, REPS, 1)));
      await sleep(m.settleMs);
      turns[i].theirs.push(await turn(m, pids, asks[i]));
      await sleep(m.settleMs);
    }
  }
  for (const s of sides) await s.dispose();
  return turns.map((t, i) => ({
    method: methods[i],
    ...t,
    oursSpread: spreadOf(t.ours.map((x) => x.ms)),
    theirsSpread: spreadOf(t.theirs.map((x) => x.ms)),
    ratio: spreadOf(t.theirs.map((x, k) => x.ms / t.ours[k].ms)),
  }));
}

function describe(name: string, methods: MethodResult[]): string {
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(100 * v).toFixed(0)}%`);
  const mean = (t: Turn[], k: 'node' | 'others') => t.reduce((a, x) => a + (x[k] ?? 0), 0) / t.length;
  return textTable(
    [
      'Workload',
      'Method',
      'ORT ms (range)',
      'IQR/med',
      'torch ms (range)',
      'IQR/med',
      'ratio (range)',
      'node CPU in torch turns',
      'others CPU',
      'r(torch ms, others)',
      'retries',
    ],
    methods.map((m) => [
      name,
      m.method.label,
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
      String([...m.ours, ...m.theirs].reduce((n, t) => n + t.tries - 1, 0)),
    ]),
    [false, false, true, true, true, true, true, true, true, true, true],
  );
}

async function main(): Promise<void> {
  const methods = METHODS[AB];
  if (!methods) throw new Error(`bench/stability: --ab=${AB} is not one of ${Object.keys(METHODS).join(', ')}`);
  await initBackend('wasm');
  const found = findPeers(ROOT, false);
  if (!found.length) throw new Error('bench/stability: no PyTorch here (.venv-torch2 or python3-torch)');
  const peers = methods.map((m) => TorchPeer.start(path.join(ROOT, 'bench'), found[0], m.peerWait)) as [TorchPeer, TorchPeer];
  const only = arg('workloads')?.split(',');
  const out = {
    date: new Date().toISOString(),
    ab: AB,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, load: os.loadavg() },
    peer: found[0],
    method: `A and B interleaved (A B, B A, …) in one window, ${ROUNDS} rounds of ${REPS} steps per side, ${BENCH_THREADS} threads a side; node/peer/others = shares of the machine's CPU time in a turn used by the bench's Node process, the peer, and all other processes`,
    results: [] as Array<{ workload: string; methods: MethodResult[] }>,
  };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${out.date.slice(0, 10)}-stability-${AB}${only ? `-${only.join('-')}` : ''}.json`);
  for (const w of workloads().filter((w) => !only || only.some((o) => w.name.includes(o)))) {
    const measured = await measure(w, methods, peers);
    out.results.push({ workload: w.name, methods: measured });
    process.stdout.write(describe(w.name, measured));
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n'); // after each workload: a long run stopped early keeps what it measured
  }
  for (const p of peers) p.close();
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
