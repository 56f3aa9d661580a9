// Peak memory and thread scaling of a fine-tune step, each measured in a fresh process: ours (bench/graph-step.ts)
// and PyTorch's (torch_peer.py given one workload), ViT-B/16's last 2 blocks + head at batch 8 and 32; and our
// step on one core (taskset) against two.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PEER_ENV, type PeerPython } from './peer.js';

export interface StepMemory {
  batch: number;
  ours: { msPerStep: number; peakRssMb: number } | null;
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

function oursStep(root: string, file: string, batch: number, oneCore = false): { msPerStep: number; peakRssMb: number } | null {
  const script = path.join(root, 'dist', 'bench', 'graph-step.js');
  return oneCore
    ? jsonLine('taskset', ['-c', '0', process.execPath, script, file, String(batch), String(STEPS)])
    : jsonLine(process.execPath, [script, file, String(batch), String(STEPS)]);
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
          PEER_ENV,
        )
      : null,
  }));
}

export function stepScaling(root: string, file: string): StepScaling | null {
  if (!existsSync('/usr/bin/taskset')) return null;
  const per = (r: { msPerStep: number } | null) => (r ? { msPerStep: r.msPerStep, imagesPerS: (8 * 1000) / r.msPerStep } : null);
  return { workload: 'vit_b_16 last 2 blocks + head, batch 8', oneCore: per(oursStep(root, file, 8, true)), twoCores: per(oursStep(root, file, 8)) };
}
