// `map merge`: the GeoJSON pieces of a sharded `map` stitched back into one scene map, after checking that they
// come from one model and one scene, and that every shard is there once.
import { promises as fsp } from 'node:fs';
import { shardRows } from '../data/shards.js';
import { TransferkitError } from '../errors.js';
import type { SceneMap } from '../train/scene/scene-map.js';
import type { PieceRecord } from './scene-map.js';

interface Piece {
  file: string;
  record: PieceRecord;
  features: { properties: { classIndex: number; probability: number; row: number; col: number } }[];
}

async function readPiece(file: string): Promise<Piece> {
  let json;
  try {
    json = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (err) {
    throw new TransferkitError(`${file}: cannot read the GeoJSON piece (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); re-run its shard`);
  }
  if (json?.transferkit?.format !== 'transferkit-map-piece')
    throw new TransferkitError(`${file}: not a piece of a sharded map (write pieces with transferkit map … --shard K/N)`);
  return { file, record: json.transferkit, features: json.features ?? [] };
}

const rerun = (p: Piece) => `re-run shard ${p.record.shard.index}/${p.record.shard.count} (${p.file})`;

/** Stitches the pieces into one map; throws naming the shard to re-run when pieces differ, repeat or are missing. */
export async function mergeScenePieces(files: string[]): Promise<SceneMap> {
  if (!files.length) throw new TransferkitError('map merge needs the GeoJSON pieces to merge');
  const pieces = await Promise.all(files.map(readPiece));
  const first = pieces[0].record;
  const same = (r: PieceRecord) => JSON.stringify([r.model, r.scene, r.tile, r.stride, r.cols, r.sceneRows, r.classNames, r.shard.count]);
  const byIndex = new Map<number, Piece>();
  for (const p of pieces) {
    if (same(p.record) !== same(first)) {
      throw new TransferkitError(
        `${p.file} maps ${p.record.scene.file} with another model, tile, stride or shard count than ${pieces[0].file}: ${rerun(p)} with the same model and flags`,
      );
    }
    const seen = byIndex.get(p.record.shard.index);
    if (seen) throw new TransferkitError(`${seen.file} and ${p.file} are both shard ${p.record.shard.index}/${first.shard.count}: give each piece once`);
    byIndex.set(p.record.shard.index, p);
  }
  const missing = Array.from({ length: first.shard.count }, (_, k) => k).filter((k) => !byIndex.has(k));
  if (missing.length)
    throw new TransferkitError(
      `missing shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${first.shard.count}`).join(', ')} of the map of ${first.scene.file}: run transferkit map … --shard ${missing[0]}/${first.shard.count}, then merge again`,
    );
  const { cols, sceneRows } = first;
  const classes = new Int32Array(cols * sceneRows);
  const probability = new Float32Array(cols * sceneRows);
  for (const p of pieces) {
    const { start, end } = shardRows(sceneRows, p.record.shard);
    if (p.record.firstRow !== start || p.record.rows !== end - start || p.features.length !== (end - start) * cols) {
      throw new TransferkitError(
        `${p.file} holds ${p.features.length} tiles of rows ${p.record.firstRow}…; shard ${p.record.shard.index}/${p.record.shard.count} should hold rows ${start}–${end - 1}: ${rerun(p)}`,
      );
    }
    for (const { properties: t } of p.features) {
      classes[t.row * cols + t.col] = t.classIndex;
      probability[t.row * cols + t.col] = t.probability;
    }
  }
  const { width, height, bands } = first.scene;
  return {
    scene: { width, height, bands, dtype: 'unknown', ...(first.geo ? { geo: first.geo } : {}) },
    sceneFile: first.scene.file,
    tile: first.tile,
    stride: first.stride,
    cols,
    rows: sceneRows,
    firstRow: 0,
    sceneRows,
    classNames: first.classNames,
    classes,
    probability,
    ...(first.geo ? { geo: first.geo } : {}),
  };
}
