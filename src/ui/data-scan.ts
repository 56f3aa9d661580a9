// The Data tab's scan of a saved model and its data folder: the images the model gets most wrong (top losses),
// the images whose given label is unlikely (confident learning on the base's pooled features) and the groups of
// exact and near duplicates. It runs in the background, one at a time; the page polls its progress. Every path
// in what it reports is relative to the UI's root.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DEFAULT_NEAR_THRESHOLD, scanDuplicates } from '../data-quality/duplicates.js';
import { type Inspection, inspectFiles } from '../data-quality/inspect.js';
import { scanLabelIssues } from '../data-quality/scan.js';
import { listImageFolder } from '../data/folders.js';
import { TransferkitError } from '../errors.js';
import type { TrainEvent, TrainOptions } from '../train/fit/options.js';
import { type ModelMetadata, loadModel } from '../train/saved/saved-model.js';
import { relativeToRoot } from './paths.js';
import type { DataScanResult, ScanProgress } from './shapes.js';

/** How many rows of each list the page gets. */
const TOP_LOSSES = 24;
const MAX_ISSUES = 100;
const MAX_GROUPS = 50;
const SCORE_CHUNK = 64;

/**
 * The options that rebuild the model's frozen base as it was trained (its base, width, input size, weights, split
 * and seed): the pooled features the label-issue and duplicate scans work on. Weights named by a path must lie
 * inside the root, as any path the server reads.
 */
export async function featureOptions(meta: ModelMetadata, root: string): Promise<TrainOptions> {
  if (meta.onnxBase || meta.bands)
    throw new TransferkitError('label issues and duplicates are computed on a zoo base over photos; this model has an imported ONNX base or raster bands');
  let weights = meta.base.weights;
  if (weights !== null && weights !== 'imagenet') {
    const real = await fsp.realpath(weights).catch(() => '');
    if (!real.startsWith(root + path.sep))
      throw new TransferkitError("the model's weights file is not under the UI's root: put it there, or scan with the CLI (label-issues, duplicates)");
    weights = real;
  }
  const training = (meta.training ?? {}) as { seed?: number; validationSplit?: number; pooling?: 'avg' | 'max' };
  return {
    base: meta.base.id,
    ...(meta.base.alpha !== undefined ? { alpha: meta.base.alpha } : {}),
    weights,
    inputSize: meta.inputShape[0],
    ...(training.seed !== undefined ? { seed: training.seed } : {}),
    ...(training.validationSplit !== undefined ? { validationSplit: training.validationSplit } : {}),
    ...(training.pooling ? { pooling: training.pooling } : {}),
    ...(meta.dicom ? { dicom: meta.dicom } : {}),
  };
}

/** Every image of the folder, labelled with the model's class indices (its class folders must be the model's classes). */
async function labelledFiles(data: string, names: string[]) {
  const folder = await listImageFolder(data);
  const unknown = folder.classNames.filter((c) => !names.includes(c));
  if (unknown.length) throw new TransferkitError(`${data}: class folder(s) ${unknown.join(', ')} are not classes of the model (${names.join(', ')})`);
  return folder.files.map((f) => ({ file: f.file, label: names.indexOf(folder.classNames[f.label]) }));
}

export class DataScan {
  status: 'running' | 'done' | 'failed' = 'running';
  progress: ScanProgress = { step: 0, steps: 3, name: 'starting', done: 0, total: 0 };
  result: DataScanResult | null = null;
  error: string | null = null;

  constructor(
    readonly id: string,
    private readonly root: string,
    private readonly modelDir: string,
    private readonly data: string,
  ) {}

  private step(step: number, name: string, total = 0): void {
    this.progress = { ...this.progress, step, name, done: 0, total };
  }

  /** Runs the scan; a failure lands in `error` (the message a TransferkitError carries, else `onError`'s). */
  async run(onError: (err: Error) => string): Promise<void> {
    try {
      this.result = await this.scan();
      this.status = 'done';
    } catch (err) {
      this.error = onError(err as Error);
      this.status = 'failed';
    }
  }

  private async scan(): Promise<DataScanResult> {
    const start = performance.now();
    const rel = (f: string) => relativeToRoot(this.root, f);
    const { model, metadata } = await loadModel(this.modelDir);
    let topLosses: DataScanResult['topLosses'];
    let names: string[];
    try {
      if (metadata.task === 'regression') throw new TransferkitError('the Data tab lists classification losses; this model is a regressor');
      names = metadata.classNames ?? [];
      const files = await labelledFiles(this.data, names);
      this.step(1, 'top losses: scoring every image with the model', files.length);
      // In chunks, so the page sees the count go up.
      const rows: Inspection['rows'] = [];
      for (let i = 0; i < files.length; i += SCORE_CHUNK) {
        rows.push(...(await inspectFiles(model, metadata, files.slice(i, i + SCORE_CHUNK), names)).rows);
        this.progress = { ...this.progress, done: Math.min(i + SCORE_CHUNK, files.length) };
      }
      topLosses = rows
        .sort((a, b) => b.loss - a.loss)
        .slice(0, TOP_LOSSES)
        .map((x) => ({ file: rel(x.file), given: x.trueClass, predicted: x.predictedClass, probability: x.probability, loss: x.loss }));
    } finally {
      model.dispose();
    }
    // The two scans on pooled features report their feature extraction's progress as training does.
    const onEvent = (e: TrainEvent) => {
      if (e.type === 'features') this.progress = { ...this.progress, done: e.done, total: e.total };
    };
    const o = { ...(await featureOptions(metadata, this.root)), onEvent };
    this.step(2, 'label issues: the base’s features, then 5-fold probes');
    const issues = await scanLabelIssues(this.data, o);
    this.step(3, 'duplicates: exact copies and near ones');
    const dups = await scanDuplicates([this.data], o);
    return {
      model: rel(this.modelDir),
      data: rel(this.data),
      classNames: names,
      topLosses,
      issues: issues.issues
        .slice(0, MAX_ISSUES)
        .map((x) => ({ file: rel(x.file), given: x.givenClass, suggested: x.suggestedClass, selfConfidence: x.selfConfidence })),
      duplicates: dups.groups.slice(0, MAX_GROUPS).map((g) => ({ ...g, members: g.members.map((m) => ({ ...m, file: rel(m.file) })) })),
      threshold: dups.threshold ?? DEFAULT_NEAR_THRESHOLD,
      images: issues.images,
      seconds: (performance.now() - start) / 1000,
    };
  }
}
