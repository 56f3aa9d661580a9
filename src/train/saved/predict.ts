import type * as tfl from '@tensorflow/tfjs-layers';
import { loadImageBatch } from '../../data/batches.js';
import { ttaViews } from '../../data/tta.js';
import { TransferkitError } from '../../errors.js';
import { DEFAULT_THRESHOLD } from '../defaults.js';
import { type ClassificationReport, classificationReport, curves } from '../evaluate/metrics.js';
import { sourceOf } from './saved-model.js';
import { type ReliabilityBin, brierScore, calibrationError } from '../evaluate/calibration.js';
import type { LabelledFile, SkippedFile } from '../../data/folders.js';
import { type EngineName, type Predictor, createPredictor } from '../../engine/predictor.js';
import { ortReason } from '../../engine/ort-runtime.js';
import type { ModelMetadata } from './saved-model.js';
import { mergedPredictor } from '../model/onnx-base.js';

export interface ScoredFile {
  file: string;
  /** Class probabilities (for two classes: [p(first), p(second)]); empty for a regressor. */
  probabilities: number[];
  /** A regressor's output. */
  value?: number;
  /** The class decided: for two classes p(second) against the model's threshold, else the most probable. */
  label?: number;
}

export interface ScoreOptions {
  engine?: EngineName;
  batchSize?: number;
  /** Test-time augmentation: average the outputs over the image mirrored and zoomed in (see data/tta.ts). */
  tta?: boolean;
  /** The model's imported ONNX base (SavedModel.onnxBase): base and head then run merged in ONNX Runtime. */
  onnxBase?: Uint8Array;
  /** How errors name the model (its folder or file); default its name. */
  modelLabel?: string;
}

/** One batch through the predictor; an engine's own error (ONNX Runtime refusing a layer setting) names the model. */
async function runBatch(predictor: Predictor, x: Float32Array, n: number, label: string): Promise<Float32Array> {
  try {
    return await predictor.predict(x, n);
  } catch (err) {
    if (err instanceof TransferkitError) throw err;
    throw new TransferkitError(`${label}: the model does not run (${ortReason(err)}); its config is damaged or asks for what the engine cannot do`);
  }
}

/**
 * Runs a saved classifier over image files, batch by batch, with the preprocessing its metadata names.
 * Undecodable files are skipped and reported.
 */
export async function scoreFiles(
  model: tfl.LayersModel,
  meta: ModelMetadata,
  files: string[],
  options: ScoreOptions = {},
): Promise<{ scored: ScoredFile[]; skipped: SkippedFile[] }> {
  const batch = options.batchSize ?? 32;
  const predictor = options.onnxBase
    ? await mergedPredictor(options.onnxBase, model, { imageShape: meta.inputShape, label: `${model.name} on its ONNX base`, engine: options.engine })
    : await createPredictor(model, { engine: options.engine, batchSize: batch });
  const [height, width] = meta.inputShape;
  const source = sourceOf(meta);
  const scored: ScoredFile[] = [];
  const skipped: SkippedFile[] = [];
  try {
    for (let s = 0; s < files.length; s += batch) {
      const b = await loadImageBatch(
        files.slice(s, s + batch).map((file) => ({ file })),
        { height, width, source },
      );
      skipped.push(...b.skipped);
      if (!b.items.length) continue;
      const n = b.items.length;
      const views = options.tta ? ttaViews(b.x, n, height, width, b.x.length / (n * height * width)) : [b.x];
      const outputs: Float32Array[] = [];
      for (const v of views) outputs.push(await runBatch(predictor, v, n, options.modelLabel ?? model.name));
      const y = outputs[0].map((_, j) => outputs.reduce((sum, o) => sum + o[j], 0) / outputs.length);
      const k = y.length / n;
      const bad = y.findIndex((v) => !Number.isFinite(v));
      // A NaN or infinite output is never a prediction: a damaged model (or base) must not exit 0 with "NaN%".
      if (bad >= 0)
        throw new TransferkitError(
          `${options.modelLabel ?? model.name} outputs ${y[bad]} for ${b.items[Math.floor(bad / k)].file}: the model (or its base) holds damaged weights; re-train or re-save it`,
        );
      b.items.forEach((d, i) => {
        const row = Array.from(y.subarray(i * k, (i + 1) * k));
        if (meta.task === 'regression') scored.push({ file: d.file, probabilities: [], value: row[0] });
        else if (k === 1) scored.push({ file: d.file, probabilities: [1 - row[0], row[0]], label: row[0] >= (meta.threshold ?? DEFAULT_THRESHOLD) ? 1 : 0 });
        else scored.push({ file: d.file, probabilities: row, label: row.indexOf(Math.max(...row)) });
      });
    }
    return { scored, skipped };
  } finally {
    await predictor.dispose();
  }
}

/** A classifier's scores on labelled files: the classification report, loss and calibration. */
export interface Evaluation extends ClassificationReport {
  loss: number;
  /** Expected calibration error (15 bins), its bins, and the Brier score (see calibration.ts). */
  ece: number;
  reliability: ReliabilityBin[];
  brier: number;
  /** Two classes: the ROC and precision-recall curves' points, highest threshold first. */
  curves?: Array<{ threshold: number; tpr: number; fpr: number; precision: number }>;
  skipped: SkippedFile[];
}

/** −ln p of the given class, with p floored at 1e-7 as Keras's cross-entropy clips it. */
export const crossEntropy = (p: number): number => -Math.log(Math.max(p, 1e-7));

/** Scores labelled files: the scored ones (unreadable files are skipped) with their given labels, in order. */
export async function scoreLabelledFiles(
  model: tfl.LayersModel,
  meta: ModelMetadata,
  files: LabelledFile[],
  options: ScoreOptions = {},
): Promise<{ scored: ScoredFile[]; labels: number[]; skipped: SkippedFile[] }> {
  const { scored, skipped } = await scoreFiles(
    model,
    meta,
    files.map((f) => f.file),
    options,
  );
  const labelOf = new Map(files.map((f) => [f.file, f.label]));
  return { scored, labels: scored.map((s) => labelOf.get(s.file) as number), skipped };
}

/**
 * Loss (cross-entropy), accuracy, confusion matrix, per-class precision/recall/F1, macro averages, balanced
 * accuracy and, for two classes, ROC AUC, PR AUC, sensitivity and specificity at the model's threshold.
 */
export async function evaluateFiles(
  model: tfl.LayersModel,
  meta: ModelMetadata,
  files: LabelledFile[],
  classNames: string[],
  options: ScoreOptions = {},
): Promise<Evaluation> {
  const { scored, labels, skipped } = await scoreLabelledFiles(model, meta, files, options);
  const binary = classNames.length === 2;
  const scores = binary ? scored.map((s) => s.probabilities[1]) : scored.flatMap((s) => s.probabilities);
  const loss = scored.reduce((sum, s, i) => sum + crossEntropy(s.probabilities[labels[i]]), 0);
  const report = classificationReport(scores, labels, classNames, meta.threshold ?? DEFAULT_THRESHOLD);
  const rows = { probabilities: scored.flatMap((s) => s.probabilities), classes: classNames.length, labels };
  const { ece, bins } = calibrationError(rows);
  return {
    loss: scored.length ? loss / scored.length : NaN,
    ece,
    reliability: bins,
    brier: brierScore(rows),
    ...report,
    ...(binary
      ? {
          curves: curves(
            scores,
            labels.map((l) => l === 1),
          ),
        }
      : {}),
    skipped,
  };
}

/** A regressor's scores on a file,target CSV. */
export interface RegressionEvaluation {
  /** Mean squared error. */
  loss: number;
  mae: number;
  rmse: number;
  count: number;
  skipped: SkippedFile[];
}

/** A regressor's errors on images with known targets (`label` holds the target). */
export async function evaluateRegression(
  model: tfl.LayersModel,
  meta: ModelMetadata,
  files: LabelledFile[],
  options: ScoreOptions = {},
): Promise<RegressionEvaluation> {
  const { scored, skipped } = await scoreFiles(
    model,
    meta,
    files.map((f) => f.file),
    options,
  );
  const target = new Map(files.map((f) => [f.file, f.label]));
  let abs = 0;
  let sq = 0;
  for (const s of scored) {
    const e = (s.value as number) - (target.get(s.file) as number);
    abs += Math.abs(e);
    sq += e * e;
  }
  const n = scored.length;
  return { loss: n ? sq / n : NaN, mae: n ? abs / n : NaN, rmse: n ? Math.sqrt(sq / n) : NaN, count: n, skipped };
}
