// The Data tab's decisions, written where `train --exclude` reads them: review.csv in the model's folder, in the
// format `label-issues --fix` writes (file,given_label,suggested_label,self_confidence,action; files relative to
// the list's folder). One row per image, the latest decision winning; every write goes to a temp name and is
// renamed. The images themselves are never moved, renamed or deleted.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { csvField, csvFields } from '../data/exclusions.js';
import { writeFileAtomic } from '../util/fs.js';

export const REVIEW_FILE = 'review.csv';
const HEADER = ['file', 'given_label', 'suggested_label', 'self_confidence', 'action'];
export const ACTIONS = ['keep', 'relabel', 'remove'] as const;
export type ReviewAction = (typeof ACTIONS)[number];

export interface ReviewRow {
  /** Absolute path of the image. */
  file: string;
  given: string;
  suggested: string;
  selfConfidence: string;
  action: string;
}

/** The list's rows (none when it does not exist yet); rows of another layout's columns are read by name. */
export async function readReviewList(list: string): Promise<ReviewRow[]> {
  const text = await fsp.readFile(list, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const [header, ...lines] = text.split(/\r?\n/).filter((l) => l.trim());
  if (!header) return [];
  const at = Object.fromEntries(csvFields(header).map((c, i) => [c.toLowerCase(), i]));
  return lines.map(csvFields).map((f) => ({
    file: path.resolve(path.dirname(list), f[at.file] ?? ''),
    given: f[at.given_label] ?? '',
    suggested: f[at.suggested_label] ?? '',
    selfConfidence: f[at.self_confidence] ?? '',
    action: f[at.action] ?? 'remove',
  }));
}

/** The list with `row` in place of any earlier row for the same image. */
export async function recordDecision(list: string, row: ReviewRow): Promise<ReviewRow[]> {
  const rows = (await readReviewList(list)).filter((r) => r.file !== row.file);
  rows.push(row);
  const dir = path.dirname(list);
  const lines = rows.map((r) => [path.relative(dir, r.file), r.given, r.suggested, r.selfConfidence, r.action].map(csvField).join(','));
  await writeFileAtomic(list, `${HEADER.join(',')}\n${lines.join('\n')}\n`);
  return rows;
}
