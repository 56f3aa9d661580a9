import type * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage } from '../data/decode.js';
import type { LabelledFile, SkippedFile } from '../data/folders.js';
import { preprocessPixels } from '../data/preprocess.js';
import { type EngineName, createPredictor } from '../engine/predictor.js';
import type { ModelMetadata } from './saved-model.js';

export interface ScoredFile {
  file: string;
  /** Class probabilities (for two classes: [p(first), p(second)]). */
  probabilities: number[];
}

/**
 * Runs a saved classifier over image files, batch by batch, with the preprocessing its metadata names.
 * Undecodable files are skipped and reported.
 */
export async function scoreFiles(model: tfl.LayersModel, meta: ModelMetadata, files: string[], options: { engine?: EngineName; batchSize?: number } = {}): Promise<{ scored: ScoredFile[]; skipped: SkippedFile[] }> {
  const predictor = await createPredictor(model, { engine: options.engine });
  const [height, width, channels] = meta.inputShape;
  const pixels = height * width * channels;
  const batch = options.batchSize ?? 32;
  const scored: ScoredFile[] = [];
  const skipped: SkippedFile[] = [];
  try {
    for (let s = 0; s < files.length; s += batch) {
      const decoded = await Promise.all(
        files.slice(s, s + batch).map(async (file) => {
          try {
            return { file, x: preprocessPixels(await decodeImage(file, { height, width }), meta.preprocessing) };
          } catch (err) {
            skipped.push({ file, reason: `cannot decode: ${(err as Error).message.split('\n')[0]}` });
            return null;
          }
        }),
      );
      const ok = decoded.filter((d) => d !== null);
      if (!ok.length) continue;
      const x = new Float32Array(ok.length * pixels);
      ok.forEach((d, i) => x.set(d.x, i * pixels));
      const y = await predictor.predict(x, ok.length);
      const k = y.length / ok.length;
      ok.forEach((d, i) => {
        const row = Array.from(y.subarray(i * k, (i + 1) * k));
        scored.push({ file: d.file, probabilities: k === 1 ? [1 - row[0], row[0]] : row });
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
