// Decodes an Arrow or Parquet features table in a worker thread, so that a damaged file that sends apache-arrow
// or parquet-wasm into an endless loop is stopped by the reader's time limit (file.ts) instead of
// hanging the program. Posts the columns transferkit reads, or the decoder's error.
import { parentPort } from 'node:worker_threads';
import { reasonOf } from '../../errors.js';

export interface DecodedColumns {
  metadata: string | null;
  /** The features column is a fixed-size list of float32 of this size (0: it is not). */
  listSize: number;
  numRows: number;
  paths: unknown[];
  labels: number[];
  vectors: Float32Array;
  /** Rows the features column's chunks held. */
  rows: number;
}

/** Values per table this worker copies at most (1 GiB of float32): past it, the table is refused. */
const MAX_VALUES = 2 ** 28;

/**
 * What a Parquet file's columns may hold once decoded, by its own metadata: 64 MiB + 32× the file. Float features
 * barely compress, so a file claiming more (in inflated bytes, or in values at 4 bytes each, which dictionary
 * and run-length encoding can multiply without inflating anything) is a bomb. Checked before anything is
 * inflated; pages that inflate past what the metadata says are stopped by the reader's memory watch (file.ts).
 */
const maxDecoded = (bytes: number) => 64 * 2 ** 20 + 32 * bytes;

/** The Parquet file as an Arrow IPC stream, once its metadata's sizes are within `maxDecoded`. */
async function readParquet(bytes: Uint8Array): Promise<Uint8Array> {
  const pw = await import('parquet-wasm');
  const file = await pw.ParquetFile.fromFile(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  let total = 0;
  for (const group of file.metadata().rowGroups())
    for (const chunk of group.columns()) {
      const [size, values] = [chunk.uncompressedSize(), chunk.numValues()];
      if (!(size >= 0 && values >= 0)) throw new Error(`a column chunk declares ${size} bytes and ${values} values`);
      total += Math.max(size, values * 4);
    }
  if (total > maxDecoded(bytes.length))
    throw new Error(`its columns decode to ${total} bytes from ${bytes.length} (a decompression bomb?); at most ${maxDecoded(bytes.length)} are read`);
  return pw.readParquet(bytes).intoIPCStream();
}

parentPort?.on('message', async ({ bytes, format }: { bytes: Uint8Array; format: 'arrow' | 'parquet' }) => {
  try {
    const arrow = await import('apache-arrow');
    const table = format === 'arrow' ? arrow.tableFromIPC(bytes) : arrow.tableFromIPC(await readParquet(bytes));
    const type = table.getChild('features')?.type;
    const item = type?.children?.[0]?.type;
    const float32 = arrow.DataType.isFixedSizeList(type) && arrow.DataType.isFloat(item) && item.precision === arrow.Precision.SINGLE;
    const listSize = float32 ? type.listSize : 0;
    if (table.numRows * listSize > MAX_VALUES) throw new Error(`${table.numRows} rows of ${listSize} features is more than transferkit reads`);
    const vectors = new Float32Array(table.numRows * listSize);
    let rows = 0;
    for (const d of float32 ? (table.getChild('features')?.data ?? []) : []) {
      const child = d.children[0];
      const start = child.offset + d.offset * listSize;
      if (rows + d.length > table.numRows) throw new Error('the features column holds more rows than the table');
      vectors.set((child.values as Float32Array).subarray(start, start + d.length * listSize), rows * listSize);
      rows += d.length;
    }
    const out: DecodedColumns = {
      metadata: table.schema.metadata.get('transferkit') ?? null,
      listSize,
      numRows: table.numRows,
      paths: Array.from(table.getChild('path')?.toArray() ?? []),
      labels: Array.from((table.getChild('label')?.toArray() ?? []) as Int32Array),
      vectors,
      rows,
    };
    parentPort?.postMessage({ out }, [vectors.buffer]);
  } catch (err) {
    parentPort?.postMessage({ error: reasonOf(err) });
  }
});
