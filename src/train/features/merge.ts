// Stitching the shards of an array job back into one features table, with the checks that make a silent gap
// impossible: one base, every shard present once, every file of every manifest present once (or skipped).
import { shardFileName, shardOfPath } from '../../data/shards.js';
import { TransferkitError } from '../../errors.js';
import { type FeaturesTable, readFeaturesFile } from './file.js';

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The order `listImageFolder` lists files in (sorted entries, depth first), from paths relative to the root. */
export function listingOrder(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = byName(pa[i], pb[i]);
    if (c) return c;
  }
  return pa.length - pb.length;
}

/** The rows of one table in another order. */
function reorder(t: FeaturesTable, order: number[]): FeaturesTable {
  const vectors = new Float32Array(order.length * t.dim);
  order.forEach((k, i) => vectors.set(t.vectors.subarray(k * t.dim, (k + 1) * t.dim), i * t.dim));
  return { ...t, paths: order.map((k) => t.paths[k]), labels: order.map((k) => t.labels[k]), vectors };
}

const rerun = (file: string, t: FeaturesTable) =>
  t.meta.shard ? `re-run shard ${t.meta.shard.index}/${t.meta.shard.count} (${file})` : `re-run the extract that wrote ${file}`;

/**
 * Reads shard files and merges them into one table in the order of an unsharded run. Throws, naming the shard to
 * re-run, when the shards were computed by different bases, when a shard is missing or given twice, or when a
 * shard's rows do not match its manifest.
 */
export async function mergeFeatureShards(files: string[]): Promise<FeaturesTable> {
  if (files.length === 0) throw new TransferkitError('features merge needs the shard files to merge');
  const tables: FeaturesTable[] = [];
  for (const f of files) tables.push(await readFeaturesFile(f));
  const [first] = tables;
  const count = first.meta.shard?.count ?? 1;
  const byIndex = new Map<number, number>();
  tables.forEach((t, i) => {
    const file = files[i];
    if (t.meta.digest !== first.meta.digest) {
      throw new TransferkitError(
        `${file} was extracted with another base, cut, size or preprocessing (digest ${t.meta.digest.slice(0, 12)}, ${t.meta.source.base}) than ${files[0]} (digest ${first.meta.digest.slice(0, 12)}, ${first.meta.source.base}): ${rerun(file, t)} with the same --base, --weights and --input-size`,
      );
    }
    if (t.meta.classNames.join('\n') !== first.meta.classNames.join('\n')) {
      throw new TransferkitError(
        `${file} saw classes ${t.meta.classNames.join(', ')}, ${files[0]} saw ${first.meta.classNames.join(', ')}: the dataset changed between shards; ${rerun(file, t)}`,
      );
    }
    if (t.meta.listing.digest !== first.meta.listing.digest) {
      throw new TransferkitError(
        `${file} saw ${t.meta.listing.files} files in the dataset, ${files[0]} saw ${first.meta.listing.files} (or other ones): the dataset changed between shards; re-run every shard on the dataset as it is now`,
      );
    }
    const shard = t.meta.shard ?? { index: 0, count: 1 };
    if (shard.count !== count)
      throw new TransferkitError(`${file} is shard ${shard.index}/${shard.count} but ${files[0]} is one of ${count}: merge the shards of one run`);
    const seen = byIndex.get(shard.index);
    if (seen !== undefined) throw new TransferkitError(`${files[seen]} and ${file} are both shard ${shard.index}/${count}: give each shard once`);
    byIndex.set(shard.index, i);
    checkManifest(file, t);
  });
  const missing = Array.from({ length: count }, (_, k) => k).filter((k) => !byIndex.has(k));
  if (missing.length) {
    const names = missing.map(
      (k) => `${k}/${count}${first.meta.shard ? ` (${shardFileName(files[0].replace(/-\d{5}-of-\d{5}(\.\w+)$/, '$1'), { index: k, count })})` : ''}`,
    );
    throw new TransferkitError(
      `missing shard${missing.length > 1 ? 's' : ''} ${names.join(', ')}: run transferkit extract … --shard ${missing[0]}/${count} (and the others listed), then merge again`,
    );
  }
  const owner = new Map<string, number>();
  for (const [i, t] of tables.entries()) {
    for (const [p] of t.meta.manifest) {
      const other = owner.get(p);
      if (other !== undefined)
        throw new TransferkitError(`${p} is in both ${files[other]} and ${files[i]}: the shards were split differently; ${rerun(files[i], t)}`);
      owner.set(p, i);
    }
  }
  // One table of every row, then sorted into the order an unsharded run lists the files in.
  const all: FeaturesTable = {
    meta: {
      ...first.meta,
      shard: null,
      manifest: tables.flatMap((t) => t.meta.manifest).sort((a, b) => listingOrder(a[0], b[0])),
      skipped: tables.flatMap((t) => t.meta.skipped).sort((a, b) => listingOrder(a.file, b.file)),
    },
    paths: tables.flatMap((t) => t.paths),
    labels: tables.flatMap((t) => t.labels),
    vectors: new Float32Array(tables.reduce((s, t) => s + t.vectors.length, 0)),
    dim: first.dim,
  };
  let offset = 0;
  for (const t of tables) {
    all.vectors.set(t.vectors, offset);
    offset += t.vectors.length;
  }
  const order = all.paths.map((_, k) => k).sort((a, b) => listingOrder(all.paths[a], all.paths[b]));
  return reorder(all, order);
}

/** A shard's rows are exactly its manifest less its skipped files, and every manifest file hashes to the shard. */
function checkManifest(file: string, t: FeaturesTable): void {
  const expected = new Set(t.meta.manifest.map(([p]) => p));
  const skipped = new Set(t.meta.skipped.map((s) => s.file));
  const rows = new Set(t.paths);
  if (rows.size !== t.paths.length) throw new TransferkitError(`${file} holds a file twice; ${rerun(file, t)}`);
  for (const p of t.paths) if (!expected.has(p)) throw new TransferkitError(`${file} has a row for ${p}, which its manifest does not list; ${rerun(file, t)}`);
  for (const p of expected) {
    if (!rows.has(p) && !skipped.has(p)) throw new TransferkitError(`${file} lacks ${p}, which its manifest lists; ${rerun(file, t)}`);
  }
  const shard = t.meta.shard;
  if (shard) {
    const stray = [...expected].find((p) => shardOfPath(p, shard.count) !== shard.index);
    if (stray) throw new TransferkitError(`${file}: ${stray} does not belong to shard ${shard.index}/${shard.count}; ${rerun(file, t)}`);
  }
}
