// The `transferkit` record a features file carries (Arrow/Parquet schema metadata, or the .npy's sidecar), read
// and checked field by field: a damaged record is refused here in one line naming the file, before training,
// merging or `features` reads a field of the wrong type.
import { TransferkitError } from '../../errors.js';

/** What computed the features: enough to rebuild the same base for `train --features` and to check it. */
export interface FeatureSource {
  base: string;
  alpha?: number;
  weights: string | null;
  inputSize: number;
  pooling: 'avg' | 'max' | null;
  preprocessing: string;
}

/** The file's own record, kept in the Arrow schema's metadata (and so in Parquet's) under `transferkit`. */
export interface FeaturesMeta {
  format: 'transferkit-features';
  version: 1;
  /** The base's architecture and weights, the cut, the size and the preprocessing, as one digest. */
  digest: string;
  source: FeatureSource;
  /** The dataset root at extraction (paths are relative to it). */
  root: string;
  classNames: string[];
  featureShape: number[];
  shard: { index: number; count: number } | null;
  /** The whole dataset as this process listed it (every shard lists it): merge checks all shards saw the same. */
  listing: { files: number; digest: string };
  /** Every file this shard was to extract, [relative path, label], in listing order: what merge checks against. */
  manifest: [string, number][];
  /** Files of the manifest that could not be decoded, with the reason. */
  skipped: { file: string; reason: string }[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** The first field of `meta` that is not what readers of a features file take it to be, or null. */
function metaProblem(meta: Json): string | null {
  if (typeof meta.digest !== 'string') return 'digest is not text';
  if (typeof meta.root !== 'string') return 'root is not a path';
  const s = meta.source;
  if (!isObject(s) || typeof s.base !== 'string' || typeof s.preprocessing !== 'string') return 'source does not name a base and its preprocessing';
  if (!(isCount(s.inputSize) && s.inputSize > 0)) return `source.inputSize ${JSON.stringify(s.inputSize)} is not a size`;
  if (!(s.alpha === undefined || (typeof s.alpha === 'number' && s.alpha > 0))) return `source.alpha ${JSON.stringify(s.alpha)} is not a width`;
  if (!(s.weights === null || typeof s.weights === 'string')) return 'source.weights is neither a name nor null';
  if (!(s.pooling === null || s.pooling === undefined || s.pooling === 'avg' || s.pooling === 'max'))
    return `source.pooling ${JSON.stringify(s.pooling)} is not avg, max or null`;
  const shard = meta.shard;
  if (!(shard === null || (isObject(shard) && isCount(shard.index) && isCount(shard.count) && shard.index < shard.count)))
    return `shard ${JSON.stringify(shard)} is not {index, count} with index < count`;
  const listing = meta.listing;
  if (!(isObject(listing) && isCount(listing.files) && typeof listing.digest === 'string')) return 'listing is not {files, digest}';
  const skipped = meta.skipped;
  if (!(Array.isArray(skipped) && skipped.every((x) => isObject(x) && typeof x.file === 'string' && typeof x.reason === 'string')))
    return 'skipped is not a list of {file, reason}';
  return null;
}

/** The record in `raw` (JSON text), checked; `file` names the file it came from in any error. */
export function parseMeta(file: string, raw: string | undefined | null): FeaturesMeta {
  let meta: unknown;
  try {
    meta = raw ? JSON.parse(raw) : undefined;
  } catch {
    meta = undefined;
  }
  if (!isObject(meta) || meta.format !== 'transferkit-features')
    throw new TransferkitError(
      `${file}: not a transferkit features file (no 'transferkit' metadata); write it with transferkit extract --format parquet|arrow|npy`,
    );
  const problem = metaProblem(meta);
  if (problem) throw new TransferkitError(`${file}: its transferkit metadata is damaged (${problem}); re-run the extract that wrote it`);
  return meta as unknown as FeaturesMeta;
}
