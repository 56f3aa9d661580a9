// The data plan: which images train and which validate, the task they make, and each class's loss weight.
import path from 'node:path';
import { type LabelledFile, type SkippedFile, listImageFolder } from '../../data/folders.js';
import { splitFiles } from '../../data/split.js';
import { readTargetsCsv } from '../../data/targets.js';
import { DEFAULT_SEED, DEFAULT_VALIDATION_SPLIT } from '../defaults.js';
import { classWeightsNotice, classWeightsOf } from './class-weights.js';
import type { DataOptions, Task, TrainEvent } from './options.js';

export { outputLayer } from '../model/task-output.js';

export interface DataPlan {
  task: Task;
  classNames: string[];
  files: LabelledFile[];
  train: LabelledFile[];
  validation: LabelledFile[];
  skipped: SkippedFile[];
  emptyClasses: string[];
  /** Each class's weight in the training loss; undefined when all are 1. */
  classWeights?: number[];
}

/** The dataset: a folder of class folders, or a CSV of file,target rows (regression). */
async function listDataset(
  data: string,
  emit: (e: TrainEvent) => void,
): Promise<{ task: Task; classNames: string[]; files: LabelledFile[]; skipped: SkippedFile[]; emptyClasses: string[] }> {
  if (data.toLowerCase().endsWith('.csv')) return { task: 'regression', classNames: [], emptyClasses: [], ...(await readTargetsCsv(data)) };
  const folder = await listImageFolder(data, { minClasses: 2 });
  for (const c of folder.emptyClasses) emit({ type: 'notice', message: `class folder '${c}' has no images` });
  return { task: folder.classNames.length === 2 ? 'binary' : 'categorical', ...folder };
}

export async function planData(data: string, o: DataOptions, emit: (e: TrainEvent) => void): Promise<DataPlan> {
  const listed = o.precomputed ? o.precomputed.dataset : await listDataset(data, emit);
  const excluded = new Set(o.exclude?.map((f) => path.resolve(f)));
  const dataset = excluded.size ? { ...listed, files: listed.files.filter((f) => !excluded.has(path.resolve(f.file))) } : listed;
  if (excluded.size) emit({ type: 'notice', message: `left out ${listed.files.length - dataset.files.length} image(s) on the exclusion list` });
  const { train, validation } = splitFiles(dataset.files, o.validationSplit ?? DEFAULT_VALIDATION_SPLIT, o.seed ?? DEFAULT_SEED, data);
  const plan = { ...dataset, train, validation };
  const classWeights = classWeightsOf(o.classWeight, plan);
  if (classWeights) emit({ type: 'notice', message: classWeightsNotice(plan.classNames, classWeights) });
  return { ...plan, ...(classWeights ? { classWeights } : {}) };
}
