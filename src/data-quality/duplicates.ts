// Duplicates and leaks: the same file content (SHA-256) and near duplicates (cosine similarity of the base's
// pooled features at or above a threshold: the same image re-encoded, resized or lightly edited), grouped, within
// one folder's training and validation splits and across folders (train/ against test/). A group that spans two
// places is a leak: the validation (or test) score is inflated by images the model has seen.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { SkippedFile } from '../data/folders.js';
import { unitRows } from '../util/vectors.js';
import { type FileRows, pooledFeatures } from '../heads/features.js';
import type { TrainOptions } from '../train/fit/options.js';
import { writeFileAtomic } from '../util/fs.js';
import { csvField } from '../data/exclusions.js';

/** The default similarity: see the measurement in the README (planted copies against distinct images). */
export const DEFAULT_NEAR_THRESHOLD = 0.9;

export interface DuplicateMember {
  file: string;
  /** 'training' or 'validation' (the first folder's split, as train draws it), else the folder given. */
  place: string;
  className: string;
}

export interface DuplicateGroup {
  /** exact: all members have the same bytes; near: linked by feature similarity (some may also be exact). */
  kind: 'exact' | 'near';
  /** The lowest similarity among the links that made the group (1 for exact copies). */
  similarity: number;
  /** The group spans more than one place (training and validation, or two folders). */
  leak: boolean;
  members: DuplicateMember[];
}

/** Union-find over n items. */
function groupsOf(n: number, links: Array<[number, number, number]>): Array<{ items: number[]; similarity: number }> {
  const parent = Array.from({ length: n }, (_, i) => i);
  const low = new Map<number, number>();
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (const [a, b, s] of links) {
    const [ra, rb] = [find(a), find(b)];
    const m = Math.min(s, low.get(ra) ?? 1, low.get(rb) ?? 1);
    if (ra !== rb) parent[ra] = rb;
    low.set(find(a), m);
  }
  const out = new Map<number, number[]>();
  for (const i of new Set(links.flatMap((l) => l.slice(0, 2)))) out.set(find(i), [...(out.get(find(i)) ?? []), i]);
  return [...out.entries()].map(([root, items]) => ({ items: items.sort((a, b) => a - b), similarity: low.get(root) ?? 1 }));
}

/** Pairs of unit rows with cosine similarity ≥ threshold, and each row's highest similarity to any other. */
export function similarPairs(rows: { x: Float32Array; dim: number }, threshold: number): { pairs: Array<[number, number, number]>; nearest: Float32Array } {
  const unit = unitRows(rows);
  const { dim } = rows;
  const n = unit.length / dim;
  const pairs: Array<[number, number, number]> = [];
  const nearest = new Float32Array(n).fill(-1);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += unit[i * dim + d] * unit[j * dim + d];
      if (s > nearest[i]) nearest[i] = s;
      if (s > nearest[j]) nearest[j] = s;
      if (s >= threshold) pairs.push([i, j, s]);
    }
  return { pairs, nearest };
}

export interface DuplicateReport {
  threshold: number;
  images: number;
  groups: DuplicateGroup[];
  /** How many groups span two places, and how many validation/test images have a copy in training. */
  leaks: { groups: number; images: number };
  skipped: SkippedFile[];
  seconds: number;
}

/**
 * Scans the first folder's training and validation splits (drawn as `train` draws them: its --validation-split
 * and --seed) and any further folders (whole) for exact and near duplicates.
 */
export async function scanDuplicates(dirs: string[], o: TrainOptions, options: { threshold?: number } = {}): Promise<DuplicateReport> {
  const start = performance.now();
  const threshold = options.threshold ?? DEFAULT_NEAR_THRESHOLD;
  const places: Array<{ rows: FileRows; place: string; classNames: string[] }> = [];
  const skipped: SkippedFile[] = [];
  for (const [k, dir] of dirs.entries()) {
    const f = await pooledFeatures(dir, k === 0 ? o : { ...o, validationSplit: 0 });
    skipped.push(...f.context.skipped);
    places.push({ rows: f.train, place: k === 0 ? 'training' : dir, classNames: f.plan.classNames });
    if (k === 0) places.push({ rows: f.validation, place: 'validation', classNames: f.plan.classNames });
  }
  const members: DuplicateMember[] = places.flatMap((p) =>
    p.rows.files.map((file, i) => ({ file, place: p.place, className: p.classNames[p.rows.labels[i]] })),
  );
  const dim = places[0].rows.dim;
  const x = new Float32Array(members.length * dim);
  let offset = 0;
  for (const p of places) {
    x.set(p.rows.x, offset);
    offset += p.rows.x.length;
  }
  // Exact copies by content hash; near ones by similarity.
  const hashes: string[] = [];
  const byHash = new Map<string, number[]>();
  for (const [i, m] of members.entries()) {
    hashes[i] = createHash('sha256')
      .update(await fsp.readFile(m.file))
      .digest('hex');
    byHash.set(hashes[i], [...(byHash.get(hashes[i]) ?? []), i]);
  }
  const exact = [...byHash.values()].filter((g) => g.length > 1).flatMap((g) => g.slice(1).map((i) => [g[0], i, 1] as [number, number, number]));
  const { pairs } = similarPairs({ x, dim }, threshold);
  const groups = groupsOf(members.length, [...exact, ...pairs]).map(({ items, similarity }) => {
    const list = items.map((i) => members[i]);
    return {
      kind: new Set(items.map((i) => hashes[i])).size === 1 ? ('exact' as const) : ('near' as const),
      similarity,
      leak: new Set(list.map((m) => m.place)).size > 1,
      members: list,
    };
  });
  groups.sort((a, b) => Number(b.leak) - Number(a.leak) || b.similarity - a.similarity);
  const leaked = groups.filter((g) => g.leak);
  return {
    threshold,
    images: members.length,
    groups,
    leaks: {
      groups: leaked.length,
      images: leaked.reduce((n, g) => n + (g.members.some((m) => m.place === 'training') ? g.members.filter((m) => m.place !== 'training').length : 0), 0),
    },
    skipped,
    seconds: (performance.now() - start) / 1000,
  };
}

/**
 * The review list for duplicates: in each group the first training member (else the first) is kept and every
 * other member is listed with action `remove` (change it to keep to keep it); `train --exclude` reads it.
 */
export async function writeDuplicateList(file: string, groups: DuplicateGroup[]): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const lines = groups.flatMap((g, k) => {
    const keep = g.members.find((m) => m.place === 'training') ?? g.members[0];
    return g.members
      .filter((m) => m !== keep)
      .map((m) => [path.relative(dir, m.file), m.className, String(k + 1), g.kind, m.place, path.relative(dir, keep.file), 'remove'].map(csvField).join(','));
  });
  await writeFileAtomic(file, `file,class,group,kind,place,duplicate_of,action\n${lines.join('\n')}${lines.length ? '\n' : ''}`);
}
