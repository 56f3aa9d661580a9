// Peak memory and thread scaling of a fine-tune step, each measured in a fresh process: ours (bench/graph-step.ts)
// and PyTorch's (torch_peer.py given one workload), ViT-B/16's last 2 blocks + head at batch 8 and 32; our step on
// one core at 1 thread (taskset) against 2 threads; and the CLI's peak RSS extracting and training.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../src/util/fs.js';
import { BENCH_THREADS, type PeerPython, peerEnv } from './peer.js';

export interface StepMemory {
  batch: number;
  /** Ours as a fit runs: groups of stepsPerRun steps, one more step and an evaluation. */
  ours: { msPerStep: number; stepsPerRun?: number; peakRssMb: number } | null;
  torch: { msPerStep: number; peakRssMb: number } | null;
}

export interface StepScaling {
  workload: string;
  /** ms per step on 1 core and on 2, and images per second at each. */
  oneCore: { msPerStep: number; imagesPerS: number } | null;
  twoCores: { msPerStep: number; imagesPerS: number } | null;
}

function jsonLine(command: string, args: string[], input?: string, env: Record<string, string> = {}): { msPerStep: number; peakRssMb: number } | null {
  const r = spawnSync(command, args, { input, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    process.stderr.write(`bench: ${path.basename(args[0] ?? command)} failed: ${r.stderr.trim().split('\n').pop()}\n`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

const STEPS = 5;

/** Our step in a fresh process at BENCH_THREADS ORT threads, or pinned to one core at 1 thread. */
function oursStep(root: string, file: string, batch: number, oneCore = false): { msPerStep: number; peakRssMb: number } | null {
  const script = path.join(root, 'dist', 'bench', 'graph-step.js');
  const args = [script, file, String(batch), String(STEPS), String(oneCore ? 1 : BENCH_THREADS)];
  return oneCore ? jsonLine('taskset', ['-c', '0', process.execPath, ...args]) : jsonLine(process.execPath, args);
}

export function stepMemory(root: string, file: string, peer: PeerPython | null): StepMemory[] {
  return [8, 32].map((batch) => ({
    batch,
    ours: oursStep(root, file, batch),
    torch: peer
      ? jsonLine(
          peer.python,
          [path.join(root, 'bench', 'torch_peer.py')],
          `${JSON.stringify({ kind: 'rss', name: 'rss', model: 'vit_b_16', size: 224, batch, reps: STEPS })}\n`,
          peerEnv(),
        )
      : null,
  }));
}

export function stepScaling(root: string, file: string): StepScaling | null {
  if (!existsSync('/usr/bin/taskset')) return null;
  const per = (r: { msPerStep: number } | null) => (r ? { msPerStep: r.msPerStep, imagesPerS: (8 * 1000) / r.msPerStep } : null);
  return { workload: 'vit_b_16 last 2 blocks + head, batch 8', oneCore: per(oursStep(root, file, 8, true)), twoCores: per(oursStep(root, file, 8)) };
}

/** Peak RSS (MB) of one CLI run, by /usr/bin/time. */
function peakRssMb(root: string, args: string[], env: Record<string, string> = {}): number | null {
  if (!existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, path.join(root, 'dist', 'src', 'cli', 'main.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const kb = Number(r.stderr.trim().split('\n').pop());
  return Number.isFinite(kb) ? kb / 1024 : null;
}

/** `transferkit extract` over the 10,000 CIFAR-10 test images at 32x32 (VGG16, random weights). */
export function extractRss(root: string, cifar: string): number | null {
  const out = path.join(scratchDir('transferkit-bench-'), 'features.npy');
  return peakRssMb(root, ['extract', cifar, '--base', 'vgg16', '--weights', 'none', '--input-size', '32', '--out', out]);
}

/** Training on all 10,000 images at 96x96 (features of 9 KB each): in-memory features against the disk cache. */
export function trainRss(root: string, cifar: string): { memory: number | null; disk: number | null } {
  const args = ['train', cifar, '--base', 'mobilenet', '--alpha', '0.25', '--weights', 'none', '--input-size', '96', '--epochs', '2'];
  const home = scratchDir('transferkit-bench-home-');
  return { memory: peakRssMb(root, args), disk: peakRssMb(root, [...args, '--feature-cache', 'disk'], { TRANSFERKIT_HOME: home }) };
}
