// Shuffled batches from cached rows: what every epoch on a frozen base reads (in Node and in a browser).
import { shuffled } from '../../util/random.js';
import type { FeatureStore } from './memory-store.js';

/** A batch for the trainer: the trained part's input and the labels. */
export interface Batch {
  x: Float32Array;
  labels: number[];
}

/** One epoch of shuffled batches from cached rows. */
export async function* cachedBatches(store: FeatureStore, batch: number, random: () => number): AsyncGenerator<Batch> {
  const order = shuffled(
    Array.from({ length: store.labels.length }, (_, i) => i),
    random,
  );
  store.willRead?.(order);
  for (let s = 0; s < order.length; s += batch) {
    const idx = order.slice(s, s + batch);
    const x = new Float32Array(idx.length * store.rowSize);
    await store.read(idx, x);
    yield { x, labels: idx.map((k) => store.labels[k]) };
  }
}
