// Cached rows as training reads them, and the store that keeps them in memory (in Node and in a browser).

export interface FeatureStore {
  /** One label (class index or target) per row. */
  labels: number[];
  rowSize: number;
  /** Rows `indices`, concatenated, into `out`. */
  read(indices: number[], out: Float32Array): Promise<void>;
  /** The rows the next reads ask for, in order (an epoch's shuffle): a store in a file reads ahead in blocks. */
  willRead?(order: number[]): void;
  close(): Promise<void>;
}

export function memoryStore(rows: Float32Array, rowSize: number, labels: number[]): FeatureStore {
  return {
    labels,
    rowSize,
    async read(indices, out) {
      indices.forEach((k, i) => out.set(rows.subarray(k * rowSize, (k + 1) * rowSize), i * rowSize));
    },
    async close() {},
  };
}
