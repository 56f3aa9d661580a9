// Checkpoints of a run in the page, kept in the Origin Private File System so a reload does not lose the training:
// the phases' features (computed once), and after each epoch the model's weights at the phase's start, the trained weights now (and those of the lowest
// validation loss so far, which restore-best keeps), the optimizer's slots and step count, the dropout and
// shuffle draws, and the epoch loop's history and step. From these the run continues as if never broken.
import type { EpochLog } from '../train/shapes.js';
import type { LoopCheckpoint } from '../train/fit/epoch-loop.js';
import type { TrainResult } from '../train/fit/options.js';
import { TransferkitError } from '../errors.js';
import { type KeptRows, keptRows } from './kept-features.js';

/** Where a run was after its last finished epoch. */
export interface RunCheckpoint {
  /** What the run was (the files, split and options, as a digest): a resume must be of the same run. */
  key: string;
  /** The phase in progress (0-based). */
  phase: number;
  /** The phases before it: their epochs and validation scores. */
  finished: { history: Array<EpochLog & { phase: number; trainedFrom: string }>; phases: Array<{ trainedFrom: string; val?: TrainResult['val'] }> };
  /** The phase in progress: its epochs so far, the steps taken, whether a callback ended it. */
  loop: LoopCheckpoint;
  /** Numbers the run's shuffles have drawn. */
  shuffleDraws: number;
  trainer: { iterations: number; maskDraws: number };
  /** The epoch of the lowest validation loss so far in the phase (its weights are `arrays.best`), if any. */
  best: { epoch: number; valLoss: number } | null;
  /** The model's weights by name (at the phase's start). */
  modelNames: string[];
  arrays: { model: Float32Array[]; current: Float32Array[]; best: Float32Array[]; slots: Float32Array[][] };
}

/** Where checkpoints are kept: the latest readable one, a new one, none. */
export interface CheckpointStore {
  /** The newest whole checkpoint (one that cannot be read is passed over), or undefined. */
  latest(): Promise<RunCheckpoint | undefined>;
  /** Keeps `c` and drops the ones before it once it is complete. */
  save(c: RunCheckpoint): Promise<void>;
  /** Drops every checkpoint (a run that ended). */
  clear(): Promise<void>;
  /** A file for a phase's features beside the checkpoints, kept until `clear` (resuming reads it back). */
  featureRows?(name: string, rowSize: number, count: number): Promise<KeptRows>;
}

type Groups = Record<'model' | 'current' | 'best', Float32Array[]> & { slots: Float32Array[][] };

/** The arrays as one buffer, and their lengths to cut it up again. */
function pack(a: Groups): { lengths: { model: number[]; current: number[]; best: number[]; slots: number[][] }; bytes: Uint8Array } {
  const flat = [...a.model, ...a.current, ...a.best, ...a.slots.flat()];
  const all = new Float32Array(flat.reduce((n, v) => n + v.length, 0));
  let at = 0;
  for (const v of flat) {
    all.set(v, at);
    at += v.length;
  }
  const len = (vs: Float32Array[]) => vs.map((v) => v.length);
  return { lengths: { model: len(a.model), current: len(a.current), best: len(a.best), slots: a.slots.map(len) }, bytes: new Uint8Array(all.buffer) };
}

function unpack(bytes: ArrayBuffer, lengths: ReturnType<typeof pack>['lengths']): Groups {
  const all = new Float32Array(bytes);
  let at = 0;
  const take = (ls: number[]) =>
    ls.map((n) => {
      at += n;
      return all.slice(at - n, at);
    });
  return { model: take(lengths.model), current: take(lengths.current), best: take(lengths.best), slots: lengths.slots.map(take) };
}

async function writeFile(dir: FileSystemDirectoryHandle, name: string, data: Uint8Array | string): Promise<void> {
  const handle = await dir.getFileHandle(name, { create: true });
  // A writable stream commits on close: a reload mid-write leaves the file as it was.
  const w = await handle.createWritable();
  await w.write(data as Uint8Array<ArrayBuffer> | string);
  await w.close();
}

const STATE = /^state-(\d+)\.json$/;

/**
 * Checkpoints in a folder `name` of the page's Origin Private File System. Each is a state file and a weights
 * file, written in that order after the weights; the one before is removed once the new one is complete, so a
 * reload at any moment leaves one whole checkpoint.
 */
export async function opfsCheckpoints(name = 'transferkit-run'): Promise<CheckpointStore> {
  const root = await navigator.storage.getDirectory();
  const dir = await root.getDirectoryHandle(name, { create: true });
  const names = async () => {
    const out: string[] = [];
    for await (const key of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) out.push(key);
    return out;
  };
  const seqs = async () =>
    (await names())
      .map((n) => STATE.exec(n)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
  const read = async (seq: number): Promise<RunCheckpoint | undefined> => {
    try {
      const state = JSON.parse(await (await (await dir.getFileHandle(`state-${seq}.json`)).getFile()).text());
      const bytes = await (await (await dir.getFileHandle(`weights-${seq}.bin`)).getFile()).arrayBuffer();
      return { ...state, arrays: unpack(bytes, state.lengths) };
    } catch {
      return undefined; // unreadable: an older one serves
    }
  };
  return {
    async latest() {
      for (const seq of await seqs()) {
        const c = await read(seq);
        if (c) return c;
      }
      return undefined;
    },
    async save(c) {
      const seq = ((await seqs())[0] ?? 0) + 1;
      const { arrays, ...state } = c;
      const { lengths, bytes } = pack(arrays);
      await writeFile(dir, `weights-${seq}.bin`, bytes);
      await writeFile(dir, `state-${seq}.json`, JSON.stringify({ ...state, lengths }));
      for (const n of await names())
        if (/^(state|weights)-\d+\./.test(n) && !n.startsWith(`state-${seq}.`) && !n.startsWith(`weights-${seq}.`)) await dir.removeEntry(n);
    },
    async clear() {
      for (const n of await names()) await dir.removeEntry(n);
    },
    featureRows: (file, rowSize, count) => keptRows(dir, file, rowSize, count),
  };
}

/** FNV-1a over a string, as 8 hex digits: a run's key (not a security check: it tells runs apart). */
export function runKey(parts: unknown): string {
  const text = JSON.stringify(parts);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** A checkpoint of this run, or an error saying the one kept is of another. */
export function checkRun(c: RunCheckpoint, key: string): RunCheckpoint {
  if (c.key !== key)
    throw new TransferkitError(
      'the checkpoint kept in this browser is of another run (other files, split or options): pick the same weights, folder and settings to resume it, or train afresh',
    );
  return c;
}
