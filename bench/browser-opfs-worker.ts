// A worker of the bench page (bench/browser.ts): epochs of shuffled batches read from the page's feature stores,
// in memory and in a file of the Origin Private File System (src/browser/row-sinks.ts), timed.
import { rowSink } from '../src/browser/row-sinks.js';
import { cachedBatches } from '../src/train/features/batches.js';
import { seededRandom } from '../src/util/random.js';

export interface EpochRequest {
  cache: 'memory' | 'opfs';
  rows: number;
  rowSize: number;
  batch: number;
  epochs: number;
}

/** Each epoch's time (ms) reading every row once, in batches, from a store of `rows` rows written as the page writes them. */
async function epochs(r: EpochRequest): Promise<number[]> {
  const sink = await rowSink(r.cache, r.rowSize, r.rows);
  const random = seededRandom(1);
  for (let s = 0; s < r.rows; s += 64) {
    const n = Math.min(64, r.rows - s);
    sink.write(
      Float32Array.from({ length: n * r.rowSize }, () => random()),
      s,
    );
  }
  const store = sink.store(Array.from({ length: r.rows }, (_, i) => i % 2));
  const times: number[] = [];
  try {
    for (let e = 0; e < r.epochs; e++) {
      const t = performance.now();
      for await (const _ of cachedBatches(store, r.batch, random));
      times.push(performance.now() - t);
    }
  } finally {
    await store.close();
  }
  return times;
}

addEventListener('message', async (e: MessageEvent<EpochRequest>) => postMessage(await epochs(e.data)));
