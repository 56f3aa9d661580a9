// Training on an imported ONNX base (a .onnx file, a Transformers.js folder, or a registry backbone): the base
// runs in ONNX Runtime up to its feature value, once per image (feature extraction); the new head is a Keras
// model on the feature vector, behind a parameter-free stand-in layer for the base, so the zoo's head, trainer,
// cache and saved-model code apply unchanged. The saved model holds the cut base as base.onnx (hash recorded);
// predict, evaluate and export run base and head merged into one ONNX graph.
import { createHash } from 'node:crypto';
import { type PixelSource, photoSource } from '../../data/batches.js';
import { type GraphPredictorOptions, graphPredictor } from '../../engine/graph-predictor.js';
import { BASE_FILE, mergedOnnx } from './merged-onnx.js';
import { type OnnxBase, type OnnxPreprocessing, encodeBase, encodeFeatureBase } from '../../engine/onnx-base.js';
import type { EngineName, Predictor } from '../../engine/predictor.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../../errors.js';

export { STAND_IN, standInBase } from './stand-in.js';
export { BASE_FILE, mergedOnnx } from './merged-onnx.js';

/** What transferkit.json records about an imported base. */
export interface OnnxBaseRecord {
  file: typeof BASE_FILE;
  /** sha256 of base.onnx (checked on load). */
  sha256: string;
  /** The model the base was cut from: its id, path and sha256. */
  source: { id: string; path: string; sha256: string };
  features: { value: string; rule: string; size: number };
  preprocessing: OnnxPreprocessing;
}

/** An imported base ready to run: its ONNX bytes, its predictor and the size of its feature vector. */
export interface OpenBase {
  base: OnnxBase;
  onnx: Uint8Array;
  /** sha256 of `onnx` (what base.onnx will hold). */
  sha256: string;
  predictor: Predictor;
  dim: number;
  /** Raw 0–255 pixels: the base's own preprocessing is inside its graph. */
  source: PixelSource;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function openBase(base: OnnxBase, engine?: EngineName): Promise<OpenBase> {
  const onnx = encodeBase(base);
  const size = base.preprocessing.size;
  const predictor = await graphPredictor(encodeFeatureBase(base, onnx), { imageShape: [size, size, 3], label: `the ONNX base ${base.file}`, engine });
  return { base, onnx, sha256: sha256(onnx), predictor, dim: predictor.outputShape(1)[1], source: onnxPhotoSource(base.preprocessing) };
}

/** Raw 0–255 photos, resized and cropped as the base's image processor does (its normalisation is in the graph). */
export const onnxPhotoSource = (p: OnnxPreprocessing): PixelSource => photoSource('none', { fit: p.fit, interpolation: p.interpolation });

export function baseRecord(open: OpenBase): OnnxBaseRecord {
  const { base } = open;
  return {
    file: BASE_FILE,
    sha256: open.sha256,
    source: { id: base.id, path: base.file, sha256: base.sha256 },
    features: { value: base.features.value, rule: base.features.rule, size: open.dim },
    preprocessing: base.preprocessing,
  };
}

/** A predictor over base and head merged, for `predict` and `evaluate`. */
export function mergedPredictor(baseOnnx: Uint8Array, head: tfl.LayersModel, o: GraphPredictorOptions): Promise<Predictor> {
  return graphPredictor(mergedOnnx(baseOnnx, head), o);
}

/** A refusal for what an imported base cannot do yet, in one line. */
export function notForOnnxBase(what: string): TransferkitError {
  return new TransferkitError(`${what} is not available for a model on an imported ONNX base (only for zoo bases)`);
}

/** `train --from` a saved model on an ONNX base: its trained base would need reading back as a cut; not yet. */
export function onnxTrainFromRefusal(): TransferkitError {
  return new TransferkitError(
    'training a saved model on an imported ONNX base further (train --from) is not available: train again from the ONNX base with --unfreeze-last-blocks N',
  );
}

/** The bytes of base.onnx, checked against the recorded hash. */
export function checkBaseBytes(bytes: Uint8Array, record: OnnxBaseRecord, file: string): Uint8Array {
  const got = sha256(bytes);
  if (got !== record.sha256)
    throw new TransferkitError(`${file}: sha256 ${got.slice(0, 12)}… is not the recorded ${record.sha256.slice(0, 12)}…; the file was changed or damaged`);
  return bytes;
}
