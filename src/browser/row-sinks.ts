// Where the base's features wait between epochs in a page: in memory, or in a file of the Origin Private File
// System (read back in blocks, so a large set trains without holding its features; a worker's sync access).
import { BlockReader } from './block-reads.js';
import type { FeatureStore } from '../train/features/memory-store.js';
import { memoryStore } from '../train/features/memory-store.js';

/** 'memory', or 'opfs' (needs a worker: synchronous file access exists only there). */
export type FeatureCache = 'memory' | 'opfs';

/** Rows written batch by batch, then read as a store. */
export interface RowSink {
  write(rows: Float32Array, firstRow: number): void;
  store(labels: number[]): FeatureStore;
}

function memorySink(rowSize: number, count: number): RowSink {
  const all = new Float32Array(rowSize * count);
  return { write: (rows, at) => all.set(rows, at * rowSize), store: (labels) => memoryStore(all, rowSize, labels) };
}

/** What this code uses of a FileSystemSyncAccessHandle (TypeScript's DOM library leaves it to workers). */
export interface SyncFile {
  read(into: Uint8Array, o: { at: number }): number;
  write(from: Uint8Array, o: { at: number }): number;
  close(): void;
}

/**
 * Rows of `rowSize` floats read from `file` on demand (in blocks: an epoch's order read ahead, neighbours in one
 * read); `close` says what closing the store does to the file.
 */
export function syncFileStore(file: SyncFile, rowSize: number, labels: number[], close: () => Promise<void>): FeatureStore {
  const bytes = rowSize * 4;
  const reader = new BlockReader((into, at) => void file.read(into, { at }), bytes);
  return {
    labels,
    rowSize,
    async read(indices, out) {
      reader.read(indices, new Uint8Array(out.buffer, out.byteOffset, indices.length * bytes));
    },
    willRead: (order) => reader.willRead(order),
    close,
  };
}

let opened = 0;

async function opfsSink(rowSize: number): Promise<RowSink> {
  const dir = await navigator.storage.getDirectory();
  const name = `transferkit-features-${Date.now()}-${++opened}.f32`;
  const entry = await dir.getFileHandle(name, { create: true });
  const file = (await (entry as unknown as { createSyncAccessHandle(): Promise<SyncFile> }).createSyncAccessHandle()) as SyncFile;
  const bytes = rowSize * 4;
  return {
    write: (rows, at) => void file.write(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength), { at: at * bytes }),
    store: (labels) =>
      syncFileStore(file, rowSize, labels, async () => {
        file.close();
        await dir.removeEntry(name);
      }),
  };
}

/** A sink for `count` rows of `rowSize` floats. */
export const rowSink = (cache: FeatureCache, rowSize: number, count: number): Promise<RowSink> =>
  cache === 'opfs' ? opfsSink(rowSize) : Promise.resolve(memorySink(rowSize, count));
