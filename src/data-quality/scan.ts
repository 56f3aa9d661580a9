// The dataset-level checks on pooled features: label issues over every image of a folder of class folders.
import path from 'node:path';
import { type FileRows, pooledFeatures } from '../heads/features.js';
import type { SkippedFile } from '../data/folders.js';
import type { TrainOptions } from '../train/fit/options.js';
import { writeFileAtomic } from '../util/fs.js';
import { csvField } from '../data/exclusions.js';
import { type IssueFilter, type IssueRank, type LabelIssueResult, findLabelIssues, outOfFoldProbabilities } from './label-issues.js';

/** Both sides of the split as one table, in plan order (training rows first). */
export function allRows(train: FileRows, validation: FileRows): FileRows {
  const x = new Float32Array(train.x.length + validation.x.length);
  x.set(train.x);
  x.set(validation.x, train.x.length);
  return { x, dim: train.dim, labels: [...train.labels, ...validation.labels], files: [...train.files, ...validation.files] };
}

export interface LabelIssueRow {
  file: string;
  givenClass: string;
  suggestedClass: string;
  selfConfidence: number;
  margin: number;
}

export interface LabelIssueReport extends Omit<LabelIssueResult, 'issues' | 'probabilities'> {
  classNames: string[];
  images: number;
  issues: LabelIssueRow[];
  skipped: SkippedFile[];
  seconds: number;
}

export async function scanLabelIssues(
  data: string,
  o: TrainOptions,
  options: { folds?: number; filter?: IssueFilter; rank?: IssueRank } = {},
): Promise<LabelIssueReport> {
  const start = performance.now();
  const f = await pooledFeatures(data, { ...o, validationSplit: 0 });
  const rows = allRows(f.train, f.validation);
  const names = f.plan.classNames;
  const folds = options.folds ?? 5;
  const { probabilities, c } = outOfFoldProbabilities(rows, names.length, folds, o.seed ?? 1337);
  const r = findLabelIssues(probabilities, rows.labels, names.length, options);
  return {
    classNames: names,
    images: rows.labels.length,
    folds,
    c,
    thresholds: r.thresholds,
    confidentJoint: r.confidentJoint,
    issues: r.issues.map((x) => ({
      file: rows.files[x.index],
      givenClass: names[x.given],
      suggestedClass: names[x.suggested],
      selfConfidence: x.selfConfidence,
      margin: x.margin,
    })),
    skipped: f.context.skipped,
    seconds: (performance.now() - start) / 1000,
  };
}

/**
 * The review list: one row per issue, `file,given_label,suggested_label,self_confidence,action` with action
 * `relabel` (the user changes it to `remove` or `keep`); files relative to the list's folder. `train --exclude`
 * reads it back and leaves out every row not marked `keep`. transferkit never moves or deletes the images.
 */
export async function writeReviewList(file: string, issues: LabelIssueRow[]): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const lines = issues.map((x) => [path.relative(dir, x.file), x.givenClass, x.suggestedClass, x.selfConfidence.toFixed(4), 'relabel'].map(csvField).join(','));
  await writeFileAtomic(file, `file,given_label,suggested_label,self_confidence,action\n${lines.join('\n')}${lines.length ? '\n' : ''}`);
}
