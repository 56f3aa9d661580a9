import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { TransferkitError } from '../errors.js';
import type { LabelledFile, SkippedFile } from './folders.js';

/** What reads as a number, including the non-finite spellings (refused, where other text is a header or a skip). */
const NUMBER = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|nan|inf|infinity)$/i;
/** Past this, a target's squared error overflows float32 (3.4e38) and the loss is Infinity from the first step. */
const MAX_TARGET = 1e18;

/**
 * A regression dataset: a CSV of `file,target` rows (a header line is optional; files relative to the CSV's
 * folder, never outside it). Rows with a missing image, a path leaving the folder or a target that is not a
 * number are skipped and reported.
 */
export async function readTargetsCsv(csv: string): Promise<{ files: LabelledFile[]; skipped: SkippedFile[] }> {
  let text: string;
  try {
    text = await fsp.readFile(csv, 'utf8');
  } catch (err) {
    throw new TransferkitError(`${csv}: cannot read the targets CSV (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const files: LabelledFile[] = [];
  const skipped: SkippedFile[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const cut = line.lastIndexOf(',');
    const name = line
      .slice(0, cut)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    const raw = line.slice(cut + 1).trim();
    const target = Number(raw);
    if (cut < 0 || !name) {
      skipped.push({ file: `${csv}:${i + 1}`, reason: 'not a file,target row' });
      continue;
    }
    if (NUMBER.test(raw) && !(Math.abs(target) <= MAX_TARGET))
      throw new TransferkitError(
        `${csv} line ${i + 1}: target ${raw} is ${Number.isFinite(target) ? 'too large' : 'not finite'}; float32 training needs |target| <= ${MAX_TARGET.toExponential()} (its squared error must stay finite): fix or rescale the targets`,
      );
    if (raw === '' || !Number.isFinite(target)) {
      // A first line whose target is not a number is the header.
      if (i > 0 || files.length) skipped.push({ file: `${csv}:${i + 1}`, reason: `target '${raw}' is not a number` });
      continue;
    }
    const file = path.resolve(path.dirname(csv), name);
    // Files are relative to the CSV: a row naming a path outside its folder (absolute, or ../) is not read.
    const inside = path.relative(path.dirname(path.resolve(csv)), file);
    if (inside.startsWith('..') || path.isAbsolute(inside)) {
      skipped.push({ file, reason: `${path.basename(csv)} line ${i + 1} names a file outside the CSV's folder (rows are relative to it)` });
      continue;
    }
    const exists = await fsp.stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) skipped.push({ file, reason: `listed in ${path.basename(csv)} line ${i + 1} but not found` });
    else files.push({ file, label: target });
  }
  if (files.length < 2)
    throw new TransferkitError(
      `${csv}: ${files.length} usable row(s); a regression CSV needs file,target rows (e.g. images/001.jpg,3.5) for at least 2 images`,
    );
  return { files, skipped };
}
