// PyTorch beside transferkit in one run. Load on a shared machine comes and goes, so the two sides of a workload
// are run alternately (ours, theirs, ours, theirs, …) and the ratio is the median of the paired ratios.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const TORCH_PY = '/usr/bin/python3';

export function torchAvailable(): boolean {
  return spawnSync(TORCH_PY, ['-c', 'import torch, PIL, numpy'], { stdio: 'ignore' }).status === 0;
}

/** One long-lived `torch_peer.py`: a workload per line in, its timing per line out. */
export class TorchPeer {
  private readonly pending: Array<(line: string) => void> = [];

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.pending.shift()?.(line));
    child.stderr.pipe(process.stderr);
  }

  static start(benchDir: string): TorchPeer {
    return new TorchPeer(spawn(TORCH_PY, [path.join(benchDir, 'torch_peer.py')], { env: { ...process.env, OMP_NUM_THREADS: '2' } }));
  }

  ask(workload: object): Promise<{ msPerStep?: number; seconds?: number }> {
    return new Promise((resolve) => {
      this.pending.push((line) => resolve(JSON.parse(line)));
      this.child.stdin.write(JSON.stringify(workload) + '\n');
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

export interface Paired {
  /** Medians of each side over the rounds. */
  ours: number;
  theirs: number | null;
  /** Median of theirs/ours over the rounds (above 1: transferkit is faster), with the lowest and highest. */
  ratio: number | null;
  spread: [number, number] | null;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs the two sides alternately for `rounds` rounds; `theirs` may be absent (no PyTorch here). */
export async function paired(rounds: number, ours: () => Promise<number>, theirs?: () => Promise<number>): Promise<Paired> {
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(await ours());
    if (theirs) b.push(await theirs());
  }
  if (!theirs) return { ours: median(a), theirs: null, ratio: null, spread: null };
  const ratios = a.map((v, i) => b[i] / v);
  return { ours: median(a), theirs: median(b), ratio: median(ratios), spread: [Math.min(...ratios), Math.max(...ratios)] };
}

/** Wall-clock seconds of one whole process, from spawn to exit; throws if it fails. */
export function timeProcess(command: string, args: string[], env: Record<string, string> = {}): number {
  const t = performance.now();
  const r = spawnSync(command, args, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${path.basename(command)} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-500)}`);
  return seconds;
}
