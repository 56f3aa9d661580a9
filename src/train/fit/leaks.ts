// `train` warns when the validation split holds copies of training images: exact (the same bytes) or near
// (cosine similarity of the pooled cached features ≥ 0.95: stricter than `duplicates`' 0.9, since a warning on
// every run should rarely be false; all resized and half the re-encoded planted copies reach it), since they
// inflate the validation score. It reuses phase 1's cache, so the check costs the similarities only.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { LabelledFile } from '../../data/folders.js';
import { nearestSimilarity, unitRows } from '../../util/vectors.js';
import type { FeatureStore } from '../features/store.js';
import { pooledRows } from './standardize.js';

const NEAR = 0.95;
/** Above this many multiply-adds the near check is left to `transferkit duplicates` (seconds in JavaScript). */
const BUDGET = 2e9;

/** The cached rows averaged over their spatial positions, unit length. */
async function pooledUnit(store: FeatureStore, channels: number): Promise<Float32Array> {
  return unitRows({ x: await pooledRows(store, channels), dim: channels });
}

async function hashes(files: LabelledFile[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    const bytes = await fsp.readFile(f.file).catch(() => null);
    out.push(bytes ? createHash('sha256').update(bytes).digest('hex') : `unreadable:${f.file}`);
  }
  return out;
}

/** The warning to give, or null: how many validation images are exact or near copies of training images. */
export async function leakNotice(
  train: { files: LabelledFile[]; store: FeatureStore },
  validation: { files: LabelledFile[]; store: FeatureStore },
  channels: number,
): Promise<string | null> {
  const seen = new Set(await hashes(train.files));
  const exact = (await hashes(validation.files)).filter((h) => seen.has(h)).length;
  const work = train.store.labels.length * validation.store.labels.length * channels;
  let near: number | null = null;
  if (work <= BUDGET && store(train, channels) && store(validation, channels)) {
    const best = nearestSimilarity(await pooledUnit(validation.store, channels), await pooledUnit(train.store, channels), channels);
    near = best.filter((s) => s >= NEAR).length;
  }
  if (!exact && !near) return null;
  const nearText = near === null ? '' : `, ${near} with a training image of cosine similarity ≥ ${NEAR} (exact copies included)`;
  return `the validation split holds ${exact} exact copies of training images${nearText}: they inflate the validation score; see transferkit duplicates DATA --fix dups.csv, then train --exclude dups.csv`;
}

/** Rows to pool: some, laid out as whole positions of `channels` values. */
const store = (s: { store: FeatureStore }, channels: number) => s.store.rowSize > 0 && s.store.rowSize % channels === 0 && s.store.labels.length > 0;
