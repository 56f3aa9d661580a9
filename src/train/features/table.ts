// Extraction into a features table: the images of one shard (or all), their vectors in memory, and the record
// (digest, manifest, skips) that lets `features merge` check the shards and `train --features` use them.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageFolder } from '../../data/folders.js';
import { type Shard, selectShard } from '../../data/shards.js';
import { type ExtractOptions, extractFeatures } from './extract.js';
import { type FeatureSource, type FeaturesTable, featuresDigest } from './file.js';
import { joinRows } from '../../util/vectors.js';

/** A file's path under the dataset root, with '/' whatever the platform: the key of sharding and of merging. */
export const relativeTo = (root: string, file: string) => path.relative(root, file).split(path.sep).join('/');

export interface TableExtract {
  table: FeaturesTable;
  engine: string;
}

/** Extracts the features of `shard`'s images of `folder` (every image when `shard` is null) into a table. */
export async function extractFeatureTable(
  model: tfl.LayersModel,
  root: string,
  folder: ImageFolder,
  source: FeatureSource,
  shard: Shard | null,
  options: ExtractOptions = {},
): Promise<TableExtract> {
  const mine = shard ? selectShard(folder.files, shard, (f) => relativeTo(root, f.file)) : folder.files;
  const chunks: Float32Array[] = [];
  const result = await extractFeatures(model, mine, async (rows) => void chunks.push(rows), options);
  const dim = result.featureShape.reduce((a, b) => a * b, 1);
  const vectors = joinRows(chunks, result.files.length * dim);
  const table: FeaturesTable = {
    meta: {
      format: 'transferkit-features',
      version: 1,
      digest: featuresDigest(model, source.preprocessing),
      source,
      root: path.resolve(root),
      classNames: folder.classNames,
      featureShape: result.featureShape,
      shard: shard ? { index: shard.index, count: shard.count } : null,
      listing: listingDigest(root, folder),
      manifest: mine.map((f) => [relativeTo(root, f.file), f.label]),
      skipped: result.skipped.map((s) => ({ file: relativeTo(root, s.file), reason: s.reason })),
    },
    paths: result.files.map((f) => relativeTo(root, f)),
    labels: result.labels,
    vectors,
    dim,
  };
  return { table, engine: result.engine };
}

function listingDigest(root: string, folder: ImageFolder): { files: number; digest: string } {
  const h = createHash('sha256');
  for (const f of folder.files) h.update(`${relativeTo(root, f.file)}\t${f.label}\n`);
  return { files: folder.files.length, digest: h.digest('hex').slice(0, 32) };
}
