// `train --exclude FILE.csv`: the review list that `label-issues --fix` and `duplicates --fix` write (a header
// with a `file` column and an optional `action` column; files relative to the list's folder). Every row whose
// action is not `keep` leaves its image out of training; the image itself is never touched.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { TransferkitError } from '../errors.js';

/** A value as one CSV field: quoted when it holds a comma, quote or line break. */
export const csvField = (v: string | number) => (typeof v === 'number' ? String(v) : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** One CSV line's fields (double-quoted fields may hold commas and doubled quotes). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') field += line[i++];
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out.map((f) => f.trim());
}

/** The absolute paths of the images a review list leaves out. */
export async function readExclusionList(csv: string): Promise<string[]> {
  let text: string;
  try {
    text = await fsp.readFile(csv, 'utf8');
  } catch (err) {
    throw new TransferkitError(`${csv}: cannot read the exclusion list (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const [header, ...lines] = text.split(/\r?\n/).filter((l) => l.trim());
  const columns = csvFields(header ?? '').map((c) => c.toLowerCase());
  const fileAt = columns.indexOf('file');
  if (fileAt < 0)
    throw new TransferkitError(`${csv}: no 'file' column in its header; an exclusion list is the CSV that label-issues --fix or duplicates --fix writes`);
  const actionAt = columns.indexOf('action');
  return lines
    .map(csvFields)
    .filter((f) => f[fileAt] && (actionAt < 0 || f[actionAt]?.toLowerCase() !== 'keep'))
    .map((f) => path.resolve(path.dirname(csv), f[fileAt]));
}
