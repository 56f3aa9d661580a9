// Feeding a phase: what stays frozen in front of the trained part is computed once per image and cached (in
// memory or on disk; Keras recomputes it every epoch), and training reads shuffled batches from the cache, or,
// with augmentation, decodes, transforms and runs the frozen part on every batch.
import type { AugmentSpec } from '../../data/augment.js';
import { type PixelSource, loadImageBatch } from '../../data/batches.js';
import type { LabelledFile, SkippedFile } from '../../data/folders.js';
import type { Predictor } from '../../engine/predictor.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { shuffled } from '../../util/random.js';
import { extractFeatures, runOverImages } from './extract.js';
import { DiskStoreWriter, type FeatureStore, featureKey, loadDiskStore, memoryStore, modelDigest } from './store.js';
import type { DataOptions, EngineOptions } from '../fit/options.js';
import { baseModel } from '../../model/introspect.js';
import { joinRows } from '../../util/vectors.js';
import type { Batch } from './batches.js';

export { type Batch, cachedBatches } from './batches.js';

export interface Context {
  model: tfl.LayersModel;
  o: Pick<DataOptions, 'precomputed' | 'augment'> & EngineOptions;
  skipped: SkippedFile[];
  size: number;
  source: PixelSource;
  /** What, besides the model and the images, decides the cached rows. */
  cacheExtra: object;
  /** The base's digest for this phase's disk-cache keys (computed once per phase). */
  digest?: string;
  /** An imported ONNX base in front of the model: it computes the cached rows, and its hash keys them. */
  prefix?: { predictor: Predictor; digest: string };
}

export const noteSkips = (c: Context, more: SkippedFile[]) => {
  for (const s of more) if (!c.skipped.some((k) => k.file === s.file)) c.skipped.push(s);
};

/** The frozen part's output (the input of layer `from`) for each image, computed once, or read from the disk cache. */
export async function cacheFeatures(c: Context, files: LabelledFile[], from: string, phase: number): Promise<{ store: FeatureStore; hit: boolean }> {
  const onProgress = (done: number, total: number) => c.o.onEvent?.({ type: 'features', phase, done, total });
  if (c.o.precomputed) {
    const r = c.o.precomputed.store(c.model, files, from);
    noteSkips(c, r.skipped);
    onProgress(files.length, files.length);
    return { store: r.store, hit: false };
  }
  const prefix = c.prefix;
  const run = (sink: (rows: Float32Array) => Promise<void>) =>
    prefix
      ? runOverImages(prefix.predictor, files, sink, { height: c.size, width: c.size, source: c.source, batchSize: 64, onProgress })
      : extractFeatures(c.model, files, sink, { engine: c.o.engine, until: from, batchSize: 64, source: c.source, onProgress });
  if (c.o.featureCache === 'disk') {
    c.digest ??= prefix ? prefix.digest : modelDigest(baseModel(c.model));
    const key = await featureKey(c.digest, from, files, c.cacheExtra);
    const cached = await loadDiskStore(key, files);
    if (cached) {
      noteSkips(c, cached.skipped);
      onProgress(files.length, files.length);
      return { store: cached.store, hit: true };
    }
    const writer = new DiskStoreWriter(key);
    try {
      const result = await run((rows) => writer.append(rows));
      noteSkips(c, result.skipped);
      const meta = { files: result.files, rowSize: result.featureShape.reduce((a, b) => a * b, 1), skipped: result.skipped };
      return { store: await writer.finish(meta, files), hit: false };
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }
  const chunks: Float32Array[] = [];
  const result = await run(async (rows) => void chunks.push(rows));
  noteSkips(c, result.skipped);
  const rowSize = result.featureShape.reduce((a, b) => a * b, 1);
  const rows = joinRows(chunks, result.labels.length * rowSize);
  return { store: memoryStore(rows, rowSize, result.labels), hit: false };
}

/** One epoch of augmented batches: decoded, transformed, then through the frozen part (if any) every time. */
export async function* augmentedBatches(
  c: Context,
  files: LabelledFile[],
  prefix: Predictor | null,
  batch: number,
  random: () => number,
): AsyncGenerator<Batch> {
  const order = shuffled(files, random);
  const load = (s: number) =>
    loadImageBatch(order.slice(s, s + batch), { height: c.size, width: c.size, source: c.source, augment: { spec: c.o.augment as AugmentSpec, random } });
  let next = load(0);
  for (let s = 0; s < order.length; s += batch) {
    const b = await next;
    next = load(s + batch);
    noteSkips(c, b.skipped);
    if (!b.items.length) continue;
    yield { x: prefix ? await prefix.predict(b.x, b.items.length) : b.x, labels: b.items.map((f) => f.label) };
  }
}
