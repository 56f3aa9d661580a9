// PyTorch beside transferkit in one run. Load on a shared machine comes and goes, so the two sides of a workload
// are run alternately (ours, theirs, ours, theirs, …) and the ratio is the median of the paired ratios.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Gate, type GatedTurn, gatedTurn } from './cpu-share.js';

/** Debian's python3-torch (1.13 on these machines): the peer when no PyTorch 2.x venv can be made. */
export const DEBIAN_PY = '/usr/bin/python3';

export interface PeerPython {
  python: string;
  /** torch.__version__ */
  torch: string;
}

function torchVersion(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import torch, PIL, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * The Pythons with PyTorch here, newest PyTorch first: the project's `.venv-torch2` (made by
 * test/python/make-venv.sh from the local package index when `create` is set, as for the export tests) and Debian's.
 */
export function findPeers(root: string, create: boolean): PeerPython[] {
  const venv = path.join(root, '.venv-torch2', 'bin', 'python');
  if (create) spawnSync('bash', [path.join(root, 'test', 'python', 'make-venv.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const found: PeerPython[] = [];
  for (const python of [venv, DEBIAN_PY]) {
    const torch = existsSync(python) ? torchVersion(python) : null;
    if (torch && !found.some((p) => p.torch === torch)) found.push({ python, torch });
  }
  return found.sort((a, b) => compareVersions(b.torch, a.torch));
}

/** The peers a run times: the newest PyTorch, or with `all` every one found (2.x and Debian's 1.13: the anchor's move on record). */
export function choosePeers(found: PeerPython[], all: boolean): PeerPython[] {
  return all ? found : found.slice(0, 1);
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+]/).map(Number);
  const pb = b.split(/[.+]/).map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0);
  return 0;
}

/** Threads per side: ORT's intra-op pool (bench/run.ts sets it) and PyTorch's, the same on both. */
export const BENCH_THREADS = 2;

/**
 * How PyTorch's OpenMP threads wait between parallel regions: 'passive' (they sleep) or 'default' (GNU OpenMP's,
 * they spin first). The bench's default is passive: with spinning waits, a PyTorch step on 2 threads slowed 10-100×
 * whenever another process took one of the 2 cores (bench/stability.ts --ab=omp), and that is what made its rounds
 * swing; `--peer-omp=default` gives PyTorch its spinning waits back for a machine known to be quiet.
 */
export type PeerWait = 'passive' | 'default';
let peerWait: PeerWait = 'passive';

export function setPeerWait(w: PeerWait): void {
  peerWait = w;
}

export function getPeerWait(): PeerWait {
  return peerWait;
}

/**
 * The peer's environment over the bench's: PyTorch's intra-op pool (torch_peer.py reads OMP_NUM_THREADS), the
 * BLAS/OpenMP pools at BENCH_THREADS, and OMP_WAIT_POLICY=PASSIVE for 'passive' (for 'default', as the shell has it).
 */
export function peerEnv(wait: PeerWait = peerWait): Record<string, string> {
  const n = String(BENCH_THREADS);
  return { OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, ...(wait === 'passive' ? { OMP_WAIT_POLICY: 'PASSIVE' } : {}) };
}

export interface PeerAnswer {
  msPerStep?: number;
  seconds?: number;
  /** The memory format the eager step ran in (the faster of the two tried), or why a compiled step could not run. */
  format?: string;
  /** The eager step's milliseconds in each memory format tried (the workload's first round). */
  formats?: Record<string, number>;
  error?: string;
}

/** One long-lived `torch_peer.py`: a workload per line in, its timing per line out. */
export class TorchPeer {
  private readonly pending: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  private exited: Error | null = null;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly version: string,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => this.pending.shift()?.resolve(line));
    child.stderr.pipe(process.stderr);
    // A peer that dies must fail the bench, not leave it waiting on an answer that never comes.
    child.on('exit', (code) => {
      this.exited = new Error(`the PyTorch peer exited (code ${code})`);
      for (const p of this.pending.splice(0)) p.reject(this.exited);
    });
  }

  /** `wait`: the OpenMP wait policy (bench/stability.ts's A/B sets it per peer). */
  static start(benchDir: string, peer: PeerPython, wait: PeerWait = peerWait): TorchPeer {
    const child = spawn(peer.python, [path.join(benchDir, 'torch_peer.py')], { env: { ...process.env, ...peerEnv(wait) } });
    return new TorchPeer(child, peer.torch);
  }

  /** The peer's process id, for its CPU time (bench/cpu-share.ts). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  get major(): number {
    return Number(this.version.split('.')[0]);
  }

  ask(workload: object): Promise<PeerAnswer> {
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(this.exited);
      this.pending.push({ resolve: (line) => resolve(JSON.parse(line)), reject });
      this.child.stdin.write(JSON.stringify(workload) + '\n');
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

export interface Paired {
  /** Medians of each side over the rounds, and the range of each side's round medians. */
  ours: number;
  theirs: number | null;
  oursRange: [number, number];
  theirsRange: [number, number] | null;
  /** Median of theirs/ours over the rounds (above 1: transferkit is faster), with the lowest and highest. */
  ratio: number | null;
  spread: [number, number] | null;
  /** With a gate: turns timed again for load, and the mean and highest share of the CPUs other processes had in the turns kept. */
  load?: { retried: number; meanOthers: number; maxOthers: number };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median milliseconds of `reps` calls after `warmup` untimed ones. */
export async function timed(fn: () => Promise<unknown>, reps: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}
const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];

/**
 * ONNX Runtime's intra-op threads spin for a while after a run; a pause between the two sides' turns lets them go
 * idle so that they do not take the cores the other side is timed on.
 */
export const SETTLE_MS = 200;

/** Runs the two sides alternately for `rounds` rounds; `theirs` may be absent (no PyTorch here). */
export async function paired(rounds: number, ours: () => Promise<number>, theirs?: () => Promise<number>, gate: Gate | null = null): Promise<Paired> {
  const a: GatedTurn[] = [];
  const b: GatedTurn[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(await gatedTurn(ours, gate));
    if (!theirs) continue;
    await sleep(SETTLE_MS);
    b.push(await gatedTurn(theirs, gate));
    await sleep(SETTLE_MS);
  }
  const va = a.map((t) => t.value);
  const vb = b.map((t) => t.value);
  const load = gate ? { load: loadOf([...a, ...b]) } : {};
  if (!theirs) return { ours: median(va), theirs: null, oursRange: range(va), theirsRange: null, ratio: null, spread: null, ...load };
  const ratios = va.map((v, i) => vb[i] / v);
  return { ours: median(va), theirs: median(vb), oursRange: range(va), theirsRange: range(vb), ratio: median(ratios), spread: range(ratios), ...load };
}

function loadOf(turns: GatedTurn[]): NonNullable<Paired['load']> {
  const others = turns.map((t) => t.others ?? 0);
  return {
    retried: turns.reduce((n, t) => n + t.tries - 1, 0),
    meanOthers: others.reduce((a, b) => a + b, 0) / Math.max(1, others.length),
    maxOthers: Math.max(0, ...others),
  };
}

/** Wall-clock seconds of one whole process, from spawn to exit; throws if it fails. */
export function timeProcess(command: string, args: string[], env: Record<string, string> = {}): number {
  const t = performance.now();
  const r = spawnSync(command, args, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${path.basename(command)} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-500)}`);
  return seconds;
}
