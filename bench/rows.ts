// A workload's rows: transferkit's side timed alternately with each PyTorch peer's, each side's spread kept.
import type { Gate } from './cpu-share.js';
import { benchLog } from './log.js';
import { type PeerAnswer, type Paired, SETTLE_MS, type TorchPeer, paired, timed } from './peer.js';

export interface BenchConfig {
  /** Timed steps per turn. */
  reps: number;
  /** Alternating rounds per paired workload. */
  rounds: number;
  /** A torch.compile row beside eager for PyTorch 2.x. */
  compile: boolean;
  /** Turns in which other processes used more than this share of the CPUs are timed again (null: all kept). */
  maxOthers: number | null;
}

/**
 * The gate of a pairing: the bench's own processes are not load; a loaded turn is timed again up to 3 times. With
 * no limit every turn is kept, the load in them still on record.
 */
function gateOf(c: BenchConfig, peer: TorchPeer | null): Gate {
  const pids = peer ? [process.pid, peer.pid] : [process.pid];
  return c.maxOthers === null ? { pids, maxOthers: 1, retries: 0, pauseMs: 0 } : { pids, maxOthers: c.maxOthers, retries: 3, pauseMs: SETTLE_MS };
}

export interface Row {
  name: string;
  engine: string;
  /** The PyTorch a peer row's numbers came from (torch.__version__). */
  torch?: string;
  /** The memory format a peer row ran in, and the eager step's time in each format its first round tried (ms). */
  format?: string;
  formats?: Record<string, number>;
  msPerStep: number | null;
  gflops: number | null;
  /** PyTorch's time over ours: the median of the paired rounds' ratios, and their range. */
  vsTorch: number | null;
  spread?: [number, number] | null;
  /** The range of this side's round medians (ms). */
  range?: [number, number] | null;
  /** Turns timed again for outside load (--gate), and the mean and highest share of the CPUs others had in the turns kept. */
  load?: Paired['load'];
  note?: string;
  /** Step rows: the steps per engine call the row's time is per step of (the trainer's `stepsPerRun`), and one step's time alone (ms). */
  stepsPerRun?: number;
  oneStepMs?: number;
}

const fmtMs = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)} ms`);

/**
 * The ORT side of a workload timed alternately with each PyTorch peer's (eager, and compiled for PyTorch 2.x): a row
 * per side. The ORT row's ratio is against the first peer's eager step; each PyTorch row carries the ratio of its own
 * pairing (its time / ours).
 */
export async function pairedRow(
  c: BenchConfig,
  rows: Row[],
  name: string,
  gflop: number | null,
  ours: () => Promise<unknown>,
  peers: TorchPeer[],
  workload: object,
  reps = c.reps,
  stepsPerCall = 1,
): Promise<Paired> {
  await ours(); // warm-up: the first runs plan memory
  const gflops = (ms: number | null) => (gflop === null || ms === null ? null : gflop / (ms / 1000));
  // `ours` may take a group of steps per call: timed per step, about `reps` steps a turn.
  const oursTimed = async () => (await timed(ours, Math.ceil(reps / stepsPerCall), 1)) / stepsPerCall;
  let first: Paired | null = null;
  for (const peer of peers) {
    let format: string | undefined;
    for (const compile of peer.major >= 2 && c.compile ? [false, true] : [false]) {
      const ask = (): Promise<PeerAnswer> => peer.ask({ ...workload, name, reps, compile, format });
      const probe = await ask(); // the peer's warm-up (and its compilation), and whether it runs at all
      const engine = `torch ${peer.version} ${compile ? 'compile' : `eager ${probe.format ?? ''}`}`.trim();
      const about = { torch: peer.version, format: probe.format, formats: probe.formats };
      if (typeof probe.msPerStep !== 'number') {
        rows.push({ name, engine, ...about, msPerStep: null, gflops: null, vsTorch: null, note: probe.error ?? 'no answer' });
        continue;
      }
      format ??= probe.format;
      const p = await paired(c.rounds, oursTimed, async () => (await ask()).msPerStep as number, gateOf(c, peer));
      benchLog(`${name}: ours ${fmtMs(p.ours)}, ${engine} ${fmtMs(p.theirs)}`);
      if (!first) {
        first = p;
        rows.push({ name, engine: 'ort', msPerStep: p.ours, gflops: gflops(p.ours), vsTorch: p.ratio, spread: p.spread, range: p.oursRange, load: p.load });
      }
      rows.push({
        name,
        engine,
        ...about,
        msPerStep: p.theirs,
        gflops: gflops(p.theirs),
        vsTorch: p.ratio,
        spread: p.spread,
        range: p.theirsRange,
        load: p.load,
      });
    }
  }
  if (first) return first;
  const alone = await paired(c.rounds, oursTimed, undefined, gateOf(c, null));
  benchLog(`${name}: ours ${fmtMs(alone.ours)}`);
  rows.push({ name, engine: 'ort', msPerStep: alone.ours, gflops: gflops(alone.ours), vsTorch: null, range: alone.oursRange, load: alone.load });
  return alone;
}

/** The wasm fallback, timed once on its own and set against PyTorch's median, its range from PyTorch's rounds. */
export function wasmRow(rows: Row[], name: string, gflop: number | null, ms: number, torch: Paired): void {
  const ratio = torch.theirs === null ? null : torch.theirs / ms;
  rows.push({
    name,
    engine: 'wasm',
    msPerStep: ms,
    gflops: gflop === null ? null : gflop / (ms / 1000),
    vsTorch: ratio,
    spread: ratio === null || !torch.theirsRange ? null : [torch.theirsRange[0] / ms, torch.theirsRange[1] / ms],
  });
}
