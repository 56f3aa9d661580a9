// Who had the CPUs during a timed turn: /proc/stat's jiffies for the whole machine against those of the bench's
// own processes. A turn that is slow while others were busy was loaded, not slow in itself (issue 30, item 4).
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CpuSample {
  busy: number;
  total: number;
  steal: number;
  /** CPU time of each watched process (all its threads, and its children waited for), in the order of the pids asked for. */
  own: number[];
}

/** The first line of /proc/stat: user nice system idle iowait irq softirq steal … (jiffies of all CPUs). */
export function parseProcStat(text: string): { busy: number; total: number; steal: number } {
  const f = text.split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total, steal: f[7] ?? 0 };
}

/**
 * utime + stime + cutime + cstime of /proc/PID/stat (fields 14-17, counted after the parenthesised command name):
 * the process's threads and the children it waited for (a whole-process workload run by spawnSync).
 */
export function parsePidStat(text: string): number {
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

export function sampleCpu(pids: number[]): CpuSample | null {
  try {
    const own = pids.map((pid) => parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8')));
    return { ...parseProcStat(readFileSync('/proc/stat', 'utf8')), own };
  } catch {
    return null; // not Linux: the share stays unknown
  }
}

/**
 * Shares of the machine's CPU time between two samples: each watched process's (`own`), all other processes'
 * together, and the share the hypervisor stole.
 */
export function cpuShares(a: CpuSample | null, b: CpuSample | null): { own: number[]; others: number; steal: number } | null {
  if (!a || !b || b.total <= a.total) return null;
  const total = b.total - a.total;
  const own = b.own.map((v, i) => (v - a.own[i]) / total);
  const busy = (b.busy - a.busy) / total;
  return { own, others: Math.max(0, busy - own.reduce((x, y) => x + y, 0)), steal: (b.steal - a.steal) / total };
}

/** Turns timed while other processes used more than `maxOthers` of the machine are timed again, up to `retries` times. */
export interface Gate {
  pids: number[];
  maxOthers: number;
  retries: number;
  pauseMs: number;
}

export interface GatedTurn {
  value: number;
  /** The others' share in the turn kept (null where it could not be read). */
  others: number | null;
  tries: number;
}

/**
 * One turn; with a gate, timed again after a pause while other processes had more than the gate's share of the
 * CPUs during it (the last try is kept either way, its share on record). Load from outside is what made the peer's
 * rounds swing (bench/stability.ts), so a loaded turn says nothing about either side.
 */
export async function gatedTurn(fn: () => Promise<number>, gate: Gate | null): Promise<GatedTurn> {
  for (let tries = 1; ; tries++) {
    const a = sampleCpu(gate?.pids ?? []);
    const value = await fn();
    const others = cpuShares(a, sampleCpu(gate?.pids ?? []))?.others ?? null;
    if (!gate || others === null || others <= gate.maxOthers || tries > gate.retries) return { value, others, tries };
    await sleep(gate.pauseMs);
  }
}
