// Splitting work across the processes of an array job (Kubernetes Indexed Job, Slurm array, AWS/Google Batch):
// each process takes shard K of N by a rule that needs no coordinator and that keeps a file in its shard when
// other files are added to the dataset.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** Shard K of N (`--shard K/N`): which part of a dataset one machine of an array job extracts. */
export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
  /** Where K/N came from: the flag, or the engine's environment variables. */
  source: string;
}

function checked(index: number, count: number, what: string, source: string): Shard {
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`${what}: the shard count must be a positive integer; got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new UsageError(`${what}: the shard index must be an integer in 0..${count - 1}; got ${index}`);
  return { index, count, source };
}

/** `--shard K/N` (K 0-based). */
export function parseShard(raw: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  if (!m) throw new UsageError(`--shard must be K/N with 0 <= K < N, e.g. 0/4; got '${raw}'`);
  return checked(Number(m[1]), Number(m[2]), `--shard ${raw}`, '--shard');
}

/**
 * The shard an array job's engine assigned through the environment, or null when none did. Kubernetes and AWS
 * Batch give only the index: their count comes from `count` (the `--shards N` flag).
 */
export function shardFromEnv(env: NodeJS.ProcessEnv, count?: number): Shard | null {
  const num = (name: string) => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new UsageError(`${name}=${v} is not an integer`);
    return n;
  };
  const withCount = (indexVar: string, countVar?: string): Shard | null => {
    const index = num(indexVar);
    if (index === undefined) return null;
    const n = (countVar ? num(countVar) : undefined) ?? count;
    if (n === undefined)
      throw new UsageError(`${indexVar}=${index} is set but the number of shards is not: pass --shards N${countVar ? ` or set ${countVar}` : ''}`);
    // Slurm numbers array tasks from --array's first value: 0-based arrays (--array=0-3) are what we document.
    return checked(index, n, indexVar, `${indexVar}${countVar && num(countVar) !== undefined ? `/${countVar}` : ' and --shards'} (${engineName(indexVar)})`);
  };
  return (
    withCount('JOB_COMPLETION_INDEX') ??
    withCount('SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT') ??
    withCount('AWS_BATCH_JOB_ARRAY_INDEX') ??
    withCount('BATCH_TASK_INDEX', 'BATCH_TASK_COUNT')
  );
}

function engineName(indexVar: string): string {
  return (
    {
      JOB_COMPLETION_INDEX: 'Kubernetes Indexed Job',
      SLURM_ARRAY_TASK_ID: 'Slurm job array',
      AWS_BATCH_JOB_ARRAY_INDEX: 'AWS Batch array job',
      BATCH_TASK_INDEX: 'Google Batch',
    }[indexVar] ?? indexVar
  );
}

/** The shard from `--shard K/N`, else from the environment (with `--shards N` for the count), else null. */
export function resolveShard(flag: string | undefined, shards: number | undefined, env: NodeJS.ProcessEnv = process.env): Shard | null {
  if (flag !== undefined) return parseShard(flag);
  const shard = shardFromEnv(env, shards);
  if (!shard && shards !== undefined)
    throw new UsageError(
      `--shards ${shards} needs the shard index from the engine (JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, …); on the command line use --shard K/${shards}`,
    );
  return shard;
}

/** Which of `count` shards a file belongs to: by a hash of its path relative to the dataset root ('/' separators). */
export function shardOfPath(relative: string, count: number): number {
  const h = createHash('sha256').update(relative.split(path.sep).join('/')).digest();
  return h.readUInt32BE(0) % count;
}

/** The items of `shard`: `relative` gives each one's path under the dataset root. */
export function selectShard<T>(items: T[], shard: Shard, relative: (item: T) => string): T[] {
  return items.filter((item) => shardOfPath(relative(item), shard.count) === shard.index);
}

/** Rows [start, end) of `rows` that shard K of N maps: contiguous blocks, so the pieces stitch in order. */
export function shardRows(rows: number, shard: Pick<Shard, 'index' | 'count'>): { start: number; end: number } {
  const per = Math.ceil(rows / shard.count);
  return { start: Math.min(rows, shard.index * per), end: Math.min(rows, (shard.index + 1) * per) };
}

export const describeShard = (s: Shard) => `shard ${s.index}/${s.count} (from ${s.source})`;

/** The file a shard writes: `features.parquet` → `features-00002-of-00004.parquet`. */
export function shardFileName(out: string, shard: Pick<Shard, 'index' | 'count'>): string {
  const ext = path.extname(out);
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${out.slice(0, out.length - ext.length)}-${pad(shard.index)}-of-${pad(shard.count)}${ext}`;
}
