// ONNX Runtime is loaded on first use, not at import: where its native binary does not load, transferkit
// still starts and runs on tfjs-wasm.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as OrtTypes from 'onnxruntime-node';

export { ortReason } from './ort-reason.js';

export type Ort = typeof OrtTypes.default;

/** Whether automatic groups of steps take the largest steps too (a second session's memory: see autoStepsPerRun). */
export const GROUPS_LARGE_STEPS: boolean = true;

let loaded: Promise<Ort> | undefined;

/** ONNX Runtime's logs reach the terminal only with TRANSFERKIT_DEBUG=1; errors come back as one line instead. */
const quiet = () => process.env.TRANSFERKIT_DEBUG !== '1';

export function loadOrt(): Promise<Ort> {
  // Its telemetry writes an empty mat-debug-PID.log (and a .ses file) into $TMPDIR on every run otherwise.
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  if (!loaded)
    loaded = import('onnxruntime-node').then((m) => {
      if (quiet()) m.default.env.logLevel = 'fatal';
      return m.default;
    });
  return loaded;
}

/** Session options measured best on 2 cores: all cores in one op, sequential graph execution. */
export function sessionOptions(): OrtTypes.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
}

/**
 * Thread settings for benchmarks (bench/): none by default. `spinning: false` sets ORT's
 * `session.intra_op.allow_spinning` to 0, so its idle threads block at once instead of spinning for a while after a
 * run (which takes the cores from another process timed next); `threads` fixes the intra-op pool's size; `profile`
 * turns ORT's profiler on (bench/op-profile.ts).
 */
export interface OrtTuning {
  spinning?: boolean;
  threads?: number;
  /** ORT's profiler on: each session writes PREFIX_<date>.json (its per-node trace) when released. */
  profile?: string;
  /** ORT's `session.set_denormal_as_zero`: denormal floats flushed to zero (bench/op-profile.ts --daz). */
  denormalsAsZero?: boolean;
}
let tuning: OrtTuning = {};

/** Sets the thread settings of the sessions created from now on (bench/ only; users keep ORT's defaults). */
export function tuneOrt(t: OrtTuning): void {
  tuning = { ...t };
}

/** `options` with the tuning applied: ORT's config entries as `extra`, whose values the Node binding takes as strings. */
export function tunedOptions(options: OrtTypes.InferenceSession.SessionOptions, t: OrtTuning = tuning): OrtTypes.InferenceSession.SessionOptions {
  const out = { ...options };
  if (t.threads !== undefined) out.intraOpNumThreads = t.threads;
  if (t.profile) {
    out.enableProfiling = true;
    out.profileFilePrefix = t.profile;
  }
  const session: Record<string, unknown> = {};
  if (t.spinning === false) Object.assign(session, { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } });
  if (t.denormalsAsZero) session.set_denormal_as_zero = '1';
  if (Object.keys(session).length) out.extra = { ...options.extra, session };
  return out;
}

export const DEVICES = ['auto', 'cuda', 'cpu'] as const;
/** Where ONNX Runtime's sessions run: CUDA when available (auto), CUDA, or the CPU. */
export type Device = (typeof DEVICES)[number];
let device: Device = 'auto';
let chosen: { providers: string[]; why?: string } | undefined;
const notice = (m: string) => process.stderr.write(`transferkit: ${m}\n`);

/** Where ONNX Runtime sessions run: 'cuda' (falls back to the CPU with a notice), 'cpu', or 'auto' (CUDA when it can). */
export function setDevice(d: Device): void {
  device = d;
  chosen = undefined;
}

/** Why the CUDA execution provider cannot run here, or null when it can be tried. */
export function cudaUnavailable(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return `onnxruntime-node's CUDA provider is built for Linux x64 only (this is ${process.platform}/${process.arch})`;
  let bin: string;
  try {
    bin = path.join(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', 'linux', 'x64');
  } catch {
    return 'onnxruntime-node is not installed';
  }
  if (!existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so'))) return "onnxruntime-node's CUDA provider is not installed (docs/engine.md, 'GPU')";
  if (!existsSync('/proc/driver/nvidia/version') && !existsSync('/dev/nvidia0')) return 'no NVIDIA GPU or driver found';
  return null;
}

/** The execution providers for the device asked for; a notice once when CUDA was asked for and cannot run. */
function providers(): string[] {
  if (device === 'cpu') return ['cpu'];
  if (!chosen) {
    const why = cudaUnavailable();
    chosen = why ? { providers: ['cpu'], why } : { providers: ['cuda', 'cpu'] };
    if (why && device === 'cuda') notice(`--device cuda: ${why}; running on the CPU`);
  }
  return chosen.providers;
}

/** Whether sessions run on the CPU (graphs then take the forms measured fastest on ONNX Runtime's CPU kernels). */
export const onCpu = (): boolean => providers()[0] === 'cpu';

/** A session on the chosen device; a CUDA session that fails to start falls back to the CPU with a notice. */
export async function createSession(
  ort: Ort,
  onnx: Uint8Array,
  options: OrtTypes.InferenceSession.SessionOptions = sessionOptions(),
): Promise<OrtTypes.InferenceSession> {
  const eps = providers();
  options = tunedOptions(options);
  if (quiet()) options = { logSeverityLevel: 4, ...options };
  if (eps[0] !== 'cuda') return ort.InferenceSession.create(onnx, options);
  try {
    return await ort.InferenceSession.create(onnx, { ...options, executionProviders: eps });
  } catch (err) {
    chosen = { providers: ['cpu'], why: (err as Error).message.split('\n')[0] };
    notice(`the CUDA execution provider did not start (${chosen.why}); running on the CPU`);
    return ort.InferenceSession.create(onnx, options);
  }
}
