import type * as tfl from '@tensorflow/tfjs-layers';
import { loadImageBatch } from '../data/batches.js';
import { sourceOf } from './saved-model.js';
import type { LabelledFile, SkippedFile } from '../data/folders.js';
import { type EngineName, createPredictor } from '../engine/predictor.js';
import type { ModelMetadata } from './saved-model.js';

export interface ScoredFile {
  file: string;
  /** Class probabilities (for two classes: [p(first), p(second)]); empty for a regressor. */
  probabilities: number[];
  /** A regressor's output. */
  value?: number;
}

/**
 * Runs a saved classifier over image files, batch by batch, with the preprocessing its metadata names.
 * Undecodable files are skipped and reported.
 */
export async function scoreFiles(model: tfl.LayersModel, meta: ModelMetadata, files: string[], options: { engine?: EngineName; batchSize?: number } = {}): Promise<{ scored: ScoredFile[]; skipped: SkippedFile[] }> {
  const predictor = await createPredictor(model, { engine: options.engine });
  const [height, width] = meta.inputShape;
  const source = sourceOf(meta);
  const batch = options.batchSize ?? 32;
  const scored: ScoredFile[] = [];
  const skipped: SkippedFile[] = [];
  try {
    for (let s = 0; s < files.length; s += batch) {
      const b = await loadImageBatch(files.slice(s, s + batch).map((file) => ({ file })), { height, width, source });
      skipped.push(...b.skipped);
      if (!b.items.length) continue;
      const y = await predictor.predict(b.x, b.items.length);
      const k = y.length / b.items.length;
      b.items.forEach((d, i) => {
        const row = Array.from(y.subarray(i * k, (i + 1) * k));
        if (meta.task === 'regression') scored.push({ file: d.file, probabilities: [], value: row[0] });
        else scored.push({ file: d.file, probabilities: k === 1 ? [1 - row[0], row[0]] : row });
      });
    }
    return { scored, skipped };
  } finally {
    await predictor.dispose();
  }
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  /** confusionMatrix[true][predicted] counts. */
  confusionMatrix: number[][];
  perClass: Array<{ className: string; precision: number; recall: number; f1: number; support: number }>;
  skipped: SkippedFile[];
}

/** Loss (cross-entropy), accuracy, confusion matrix and per-class precision/recall/F1 on labelled images. */
export async function evaluateFiles(model: tfl.LayersModel, meta: ModelMetadata, files: LabelledFile[], classNames: string[], options: { engine?: EngineName } = {}): Promise<Evaluation> {
  const { scored, skipped } = await scoreFiles(model, meta, files.map((f) => f.file), options);
  const labelOf = new Map(files.map((f) => [f.file, f.label]));
  const n = classNames.length;
  const confusion = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  let loss = 0;
  for (const s of scored) {
    const truth = labelOf.get(s.file) as number;
    const predicted = s.probabilities.indexOf(Math.max(...s.probabilities));
    confusion[truth][predicted]++;
    loss -= Math.log(Math.max(s.probabilities[truth], 1e-7));
  }
  const total = scored.length;
  const perClass = classNames.map((className, c) => {
    const tp = confusion[c][c];
    const predicted = confusion.reduce((sum, row) => sum + row[c], 0);
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    return { className, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, support };
  });
  return { loss: total ? loss / total : NaN, accuracy: total ? confusion.reduce((s, row, i) => s + row[i], 0) / total : NaN, confusionMatrix: confusion, perClass, skipped };
}

export interface RegressionEvaluation {
  /** Mean squared error. */
  loss: number;
  mae: number;
  rmse: number;
  count: number;
  skipped: SkippedFile[];
}

/** A regressor's errors on images with known targets (`label` holds the target). */
export async function evaluateRegression(model: tfl.LayersModel, meta: ModelMetadata, files: LabelledFile[], options: { engine?: EngineName } = {}): Promise<RegressionEvaluation> {
  const { scored, skipped } = await scoreFiles(model, meta, files.map((f) => f.file), options);
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
