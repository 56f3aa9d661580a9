// Temperature scaling of a saved classifier (Guo et al., 2017): T is fitted on held-out images (the validation
// split the model was trained with), and the last Dense layer's kernel and bias are divided by T, so the saved
// model itself gives the calibrated probabilities in every engine and export; transferkit.json records T.
import type * as tfl from '@tensorflow/tfjs-layers';
import { tf } from '../../tfjs.js';
import type { LabelledFile } from '../../data/folders.js';
import type { EngineName } from '../../engine/predictor.js';
import { TransferkitError } from '../../errors.js';
import { type ReliabilityBin, atTemperature, brierScore, calibrationError, fitTemperature } from './calibration.js';
import { scoreFiles } from '../saved/predict.js';
import type { SavedModel } from '../saved/saved-model.js';

export interface CalibrationMetrics {
  ece: number;
  brier: number;
  /** Mean negative log-likelihood. */
  nll: number;
  accuracy: number;
  bins: ReliabilityBin[];
}

export interface TemperatureResult {
  /** The fitted T (the model's logits are divided by it). */
  temperature: number;
  images: number;
  before: CalibrationMetrics;
  after: CalibrationMetrics;
}

function metrics(p: ArrayLike<number>, classes: number, labels: number[]): CalibrationMetrics {
  const rows = { probabilities: p, classes, labels };
  const { ece, bins } = calibrationError(rows);
  let nll = 0;
  let right = 0;
  labels.forEach((l, i) => {
    nll -= Math.log(Math.max(p[i * classes + l], 1e-12));
    let top = 0;
    for (let c = 1; c < classes; c++) if (p[i * classes + c] > p[i * classes + top]) top = c;
    if (top === l) right++;
  });
  return { ece, brier: brierScore(rows), nll: nll / labels.length, accuracy: right / labels.length, bins };
}

/** The layer whose logits the temperature divides: the model's last, a Dense ending in softmax or sigmoid. */
function logitLayer(model: tfl.LayersModel): tfl.layers.Layer {
  const last = model.layers[model.layers.length - 1];
  const activation = last.getClassName() === 'Dense' ? (last.getConfig().activation as string) : null;
  if (activation !== 'softmax' && activation !== 'sigmoid')
    throw new TransferkitError(
      `temperature scaling divides the logits of a last Dense softmax/sigmoid layer; this model ends in ${last.name} (${last.getClassName()}${activation ? `, ${activation}` : ''}) — a k-NN vote has no logits`,
    );
  return last;
}

/**
 * Fits T on `files` (labelled with the model's class indices) and divides the model's logits by it, in place.
 * Returns T and the calibration before and after on those files.
 */
export async function temperatureScale(saved: SavedModel, files: LabelledFile[], options: { engine?: EngineName } = {}): Promise<TemperatureResult> {
  const { model, metadata } = saved;
  if (metadata.task === 'regression') throw new TransferkitError('temperature scaling calibrates classifiers, not regressors');
  const layer = logitLayer(model);
  const { scored } = await scoreFiles(
    model,
    metadata,
    files.map((f) => f.file),
    { engine: options.engine, onnxBase: saved.onnxBase },
  );
  if (scored.length < 2) throw new TransferkitError(`temperature scaling needs held-out images to fit on; got ${scored.length}`);
  const label = new Map(files.map((f) => [f.file, f.label]));
  const labels = scored.map((s) => label.get(s.file) as number);
  const classes = scored[0].probabilities.length;
  const rows = { probabilities: scored.flatMap((s) => s.probabilities), classes, labels };
  const temperature = fitTemperature(rows);
  const weights = layer.getWeights();
  const scaled = weights.map((w) => tf.div(w, temperature));
  layer.setWeights(scaled);
  // getWeights gives the variables themselves: only the scaled copies are freed.
  tf.dispose(scaled);
  return {
    temperature,
    images: scored.length,
    before: metrics(rows.probabilities, classes, labels),
    after: metrics(atTemperature(rows, temperature), classes, labels),
  };
}
