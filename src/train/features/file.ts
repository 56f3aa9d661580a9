// Features as a table other tools read as they are (pandas, polars, DuckDB, Spark): one row per image with its
// path relative to the dataset root, its label, the digest of what computed it, and the vector as a fixed-size
// list of float32. Parquet (through parquet-wasm), Arrow IPC, or .npy with a JSON sidecar.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { reasonOf, TransferkitError, UsageError } from '../../errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { Worker } from 'node:worker_threads';
import { arrowFileProblem } from './arrow-ipc-check.js';
import type { DecodedColumns } from './decode-worker.js';
import { type FeaturesMeta, parseMeta } from './meta.js';
import { modelDigest } from './store.js';

export const FEATURE_FORMATS = ['parquet', 'arrow', 'npy'] as const;
/** The feature table's file formats. */
export type FeatureFormat = (typeof FEATURE_FORMATS)[number];

export type { FeatureSource, FeaturesMeta } from './meta.js';

/** A feature table read back: one row per image with its path, label and feature vector. */
export interface FeaturesTable {
  meta: FeaturesMeta;
  paths: string[];
  labels: number[];
  /** Row-major, `paths.length` rows of `dim` values. */
  vectors: Float32Array;
  dim: number;
}

/** The digest that ties features to what computed them: model (architecture, weights, pooling, size) and preprocessing. */
export function featuresDigest(model: tfl.LayersModel, preprocessing: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ model: modelDigest(model, { ignoreTrainable: true }), preprocessing }))
    .digest('hex')
    .slice(0, 32);
}

export function formatOf(file: string, format?: string): FeatureFormat {
  const byExt = ({ '.parquet': 'parquet', '.arrow': 'arrow', '.feather': 'arrow', '.npy': 'npy' } as const)[path.extname(file).toLowerCase()];
  const f = format ?? byExt;
  if (!f || !(FEATURE_FORMATS as readonly string[]).includes(f)) {
    throw new UsageError(`${file}: say the format with --format ${FEATURE_FORMATS.join('|')} or name the file .parquet, .arrow or .npy`);
  }
  if (byExt && byExt !== f) throw new UsageError(`${file}: the name says ${byExt} but --format is ${f}`);
  return f as FeatureFormat;
}

async function arrowTable(t: FeaturesTable) {
  const arrow = await import('apache-arrow');
  const n = t.paths.length;
  const item = new arrow.Float32();
  const list = new arrow.FixedSizeList(t.dim, new arrow.Field('item', item, false));
  const vectors = arrow.makeData({ type: list, length: n, nullCount: 0, child: arrow.makeData({ type: item, length: n * t.dim, data: t.vectors }) });
  const table = new arrow.Table({
    path: arrow.vectorFromArray(t.paths, new arrow.Utf8()),
    label: arrow.makeVector(Int32Array.from(t.labels)),
    digest: arrow.vectorFromArray(
      t.paths.map(() => t.meta.digest),
      new arrow.Utf8(),
    ),
    features: arrow.makeVector(vectors),
  });
  table.schema.metadata.set('transferkit', JSON.stringify(t.meta));
  return { arrow, table };
}

/** Writes the table atomically (temporary name, then rename): a re-run shard replaces its file whole. */
export async function writeFeaturesFile(file: string, format: FeatureFormat, t: FeaturesTable): Promise<void> {
  if (t.vectors.length !== t.paths.length * t.dim)
    throw new TransferkitError(`internal: ${t.paths.length} rows of ${t.dim} need ${t.paths.length * t.dim} values, got ${t.vectors.length}`);
  if (format === 'npy') {
    const { NpyWriter } = await import('../../data/npy.js');
    const writer = await NpyWriter.open(file, [t.dim]);
    try {
      await writer.append(t.vectors, t.paths.length);
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    const sidecar = { files: t.paths, labels: t.labels, classNames: t.meta.classNames, shape: [t.paths.length, ...t.meta.featureShape], transferkit: t.meta };
    await writeFileAtomic(npySidecar(file), JSON.stringify(sidecar, null, 1) + '\n');
    return;
  }
  const { arrow, table } = await arrowTable(t);
  if (format === 'arrow') return writeFileAtomic(file, arrow.tableToIPC(table, 'file'));
  const pw = await import('parquet-wasm');
  const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.ZSTD).build();
  await writeFileAtomic(file, pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props));
}

export const npySidecar = (file: string) => file.replace(/\.npy$/i, '') + '.json';

/** Reads a features file written by `writeFeaturesFile` (any of the three formats). */
export async function readFeaturesFile(file: string): Promise<FeaturesTable> {
  const format = formatOf(file);
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    throw new TransferkitError(`${file}: cannot read the features file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const t = format === 'npy' ? await readNpy(file, bytes) : await readArrowTable(file, format, bytes);
  const problem = tableProblem(t);
  if (problem) throw new TransferkitError(`${file}: ${problem}; re-run the extract that wrote it`);
  return t;
}

/** Empty classes past this many (and past the number with images) mean a damaged class list, not a dataset. */
const MAX_EMPTY_CLASSES = 16;

/** What is inconsistent in a features table's metadata and rows, checked before any of it sizes a model. */
function tableProblem(t: FeaturesTable): string | null {
  const { meta } = t;
  const classes = meta.classNames;
  if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string') || new Set(classes).size !== classes.length)
    return 'its classNames are not a list of distinct names';
  if (!Array.isArray(meta.manifest) || !meta.manifest.every((m) => Array.isArray(m) && typeof m[0] === 'string' && Number.isInteger(m[1])))
    return 'its manifest is not a list of [path, label]';
  const label = (l: number) => Number.isInteger(l) && l >= 0 && l < classes.length;
  const badRow = t.labels.findIndex((l) => !label(l));
  if (badRow >= 0) return `row ${badRow} (${t.paths[badRow]}) has label ${t.labels[badRow]}, not one of the ${classes.length} classes`;
  const badFile = meta.manifest.find(([, l]) => !label(l));
  if (badFile) return `its manifest gives ${badFile[0]} label ${badFile[1]}, not one of the ${classes.length} classes`;
  const present = new Set(meta.manifest.map(([, l]) => l)).size;
  const empty = classes.length - present;
  if (empty > Math.max(MAX_EMPTY_CLASSES, present)) return `it lists ${classes.length} classes, of which only ${present} have images in its manifest`;
  for (let i = 0; i < t.vectors.length; i++)
    if (!Number.isFinite(t.vectors[i])) {
      const row = Math.floor(i / t.dim);
      return `row ${row} (${t.paths[row]}) holds a non-finite feature (${t.vectors[i]})`;
    }
  return null;
}

/** The declared feature shape's size: positive integers, at most 2^24 values per row. */
function featureSize(file: string, meta: FeaturesMeta): number {
  const shape = meta.featureShape;
  const dim = Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d > 0) ? shape.reduce((a, b) => a * b, 1) : 0;
  if (!(dim > 0 && dim <= 2 ** 24))
    throw new TransferkitError(`${file}: featureShape ${JSON.stringify(shape)} is not a shape; re-run the extract that wrote it`);
  return dim;
}

/** How long decoding a table may take before the file is called damaged (a loop in the decoder): 5 s + 1 s per 10 MB. */
const decodeLimitMs = (bytes: number) => 5_000 + bytes / 10_000;

/**
 * Memory decoding may add before the file is called damaged (pages inflating past what the metadata declares):
 * 512 MiB + 4× the file (the decoder's copy, the IPC stream, the Arrow table and the vectors).
 */
const decodeBudget = (bytes: number) => 512 * 2 ** 20 + 4 * bytes;

/** The table's columns, decoded in a worker thread with a time limit and a memory limit. */
function decodeColumns(file: string, format: 'arrow' | 'parquet', bytes: Uint8Array): Promise<DecodedColumns> {
  const refuse = (why: string) => new TransferkitError(`${file}: not a readable ${format} file (${why}); re-run the extract that wrote it`);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./decode-worker.js', import.meta.url));
    const limit = decodeLimitMs(bytes.length);
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(refuse(`decoding it did not finish in ${Math.round(limit / 1000)} s`));
    }, limit);
    const budget = decodeBudget(bytes.length);
    const before = process.memoryUsage.rss();
    const watch = setInterval(() => {
      if (process.memoryUsage.rss() - before <= budget) return;
      done();
      reject(refuse(`decoding it took more than ${Math.round(budget / 2 ** 20)} MB of memory (a decompression bomb?)`));
    }, 20);
    const done = () => {
      clearTimeout(timer);
      clearInterval(watch);
      void worker.terminate();
    };
    worker.once('message', (m: { out?: DecodedColumns; error?: string }) => {
      done();
      if (m.out) resolve(m.out);
      else reject(refuse(String(m.error).split('\n')[0]));
    });
    worker.once('error', (err) => {
      done();
      reject(refuse(reasonOf(err)));
    });
    worker.postMessage({ bytes, format });
  });
}

async function readArrowTable(file: string, format: 'arrow' | 'parquet', bytes: Uint8Array): Promise<FeaturesTable> {
  if (format === 'arrow') {
    const problem = arrowFileProblem(bytes);
    if (problem) throw new TransferkitError(`${file}: not a readable arrow file (${problem}); re-run the extract that wrote it`);
  }
  const c = await decodeColumns(file, format, bytes);
  const meta = parseMeta(file, c.metadata);
  const dim = featureSize(file, meta);
  if (!c.listSize) throw new TransferkitError(`${file}: its features column is not a fixed-size list of float32; re-run the extract that wrote it`);
  if (c.listSize !== dim)
    throw new TransferkitError(
      `${file}: featureShape ${JSON.stringify(meta.featureShape)} says ${dim} values per row, the features column holds ${c.listSize}; re-run the extract that wrote it`,
    );
  if (!c.paths.every((p) => typeof p === 'string')) throw new TransferkitError(`${file}: its path column is not text; re-run the extract that wrote it`);
  if (c.paths.length !== c.numRows || c.labels.length !== c.numRows || c.rows !== c.numRows)
    throw new TransferkitError(`${file}: expected columns path, label, digest, features; re-run the extract that wrote it`);
  return { meta, paths: c.paths as string[], labels: c.labels, vectors: c.vectors, dim };
}

async function readNpy(file: string, bytes: Uint8Array): Promise<FeaturesTable> {
  const sidecar = npySidecar(file);
  let side: { files: string[]; labels: number[]; transferkit?: FeaturesMeta };
  try {
    side = JSON.parse(await fsp.readFile(sidecar, 'utf8'));
  } catch (err) {
    throw new TransferkitError(`${sidecar}: the .npy's sidecar is missing or unreadable (${(err as Error).message})`);
  }
  const meta = parseMeta(sidecar, JSON.stringify(side.transferkit ?? {}));
  const dim = featureSize(sidecar, meta);
  const header =
    bytes.length >= 10
      ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1', 10, 10 + Buffer.from(bytes.buffer, bytes.byteOffset).readUInt16LE(8))
      : '';
  const rowShape = /'shape': \(\d+, ([\d, ]*)\)/.exec(header)?.[1];
  if (!/'descr': '<f4'/.test(header) || rowShape === undefined)
    throw new TransferkitError(`${file}: not a float32 .npy of rows; re-run the extract that wrote it`);
  const rowSize = rowShape
    .split(',')
    .filter((d) => d.trim())
    .reduce((a, d) => a * Number(d), 1);
  if (rowSize !== dim)
    throw new TransferkitError(
      `${file}: featureShape ${JSON.stringify(meta.featureShape)} says ${dim} values per row, the .npy holds ${rowSize}; re-run the extract that wrote it`,
    );
  if (!Array.isArray(side.files) || !Array.isArray(side.labels) || side.labels.length !== side.files.length)
    throw new TransferkitError(`${sidecar}: files and labels are not lists of the same length; re-run the extract that wrote it`);
  const data = bytes.slice(10 + header.length);
  const vectors = new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  if (vectors.length !== side.files.length * dim)
    throw new TransferkitError(`${file}: ${vectors.length} values for ${side.files.length} rows of ${dim}; re-run the extract that wrote it`);
  return { meta, paths: side.files, labels: side.labels, vectors, dim };
}
