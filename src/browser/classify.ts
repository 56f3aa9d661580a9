// The page's "try images": the trained model's answer for picked images, decoded and preprocessed as training
// reads them (loadBatch), decided as Node's `transferkit predict` decides (two classes: the second class's
// probability against the threshold).
import type * as tfl from '@tensorflow/tfjs-layers';
import { applicationInfo } from '../applications/common.js';
import { createPredictor } from '../engine/predictor.js';
import { baseModel } from '../model/introspect.js';
import { DEFAULT_THRESHOLD } from '../train/defaults.js';
import { loadBatch } from './images.js';

/** One image's answer: the decided class and each class's probability (in class order). */
export interface ImageAnswer {
  label: string;
  probability: number;
  probabilities: number[];
}

/** Classifies `images` with a model `trainClassifier` trained (its base's size and preprocessing). */
export async function classifyImages(trained: { model: tfl.LayersModel; classNames: string[] }, images: Blob[]): Promise<ImageAnswer[]> {
  const { model, classNames } = trained;
  const size = model.inputs[0].shape[1] as number;
  const mode = applicationInfo(baseModel(model))?.spec.preprocessing ?? 'none';
  const x = await loadBatch(images, size, mode);
  const predictor = await createPredictor(model, { engine: 'ort' });
  let y: Float32Array;
  try {
    y = await predictor.predict(x, images.length);
  } finally {
    await predictor.dispose();
  }
  const k = y.length / images.length;
  return images.map((_, i) => {
    const row = Array.from(y.subarray(i * k, (i + 1) * k));
    const probabilities = k === 1 ? [1 - row[0], row[0]] : row;
    const best = k === 1 ? (row[0] >= DEFAULT_THRESHOLD ? 1 : 0) : probabilities.indexOf(Math.max(...probabilities));
    return { label: classNames[best], probability: probabilities[best], probabilities };
  });
}
