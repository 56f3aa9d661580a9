// A trained model on disk: tfjs's model.json + weights.bin (loadable by tfjs in the browser too) and
// transferkit.json (what the model needs around it: preprocessing, input size, class names, how it was made).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { tf, tfl } from '../../tfjs.js';
import '../../applications/layers.js';
import { type BandSettings, type PixelSource, photoSource, rasterSource } from '../../data/batches.js';
import type { DicomSettings } from '../../data/decode.js';
import { type PreprocessMode, elementwise } from '../../data/preprocess.js';
import { initBackend } from '../../engine/backend.js';
import { TransferkitError, reasonOf } from '../../errors.js';
import { imageInputShape, recognisedBase } from '../../keras/base.js';
import { checkLayerShapes, checkTopology } from '../../keras/graph-check.js';
import { checkClassCount, checkMetadata } from './metadata-check.js';
import { METADATA, MODEL_JSON, WEIGHTS_BIN, modelFolderFiles } from './model-folder.js';
import { isKerasModelPath, readKerasModel } from '../../keras/read.js';
import { writeFileAtomic } from '../../util/fs.js';
import { allFinite } from '../../weights/h5.js';
import { BASE_FILE, type OnnxBaseRecord, checkBaseBytes, onnxPhotoSource } from '../model/onnx-base.js';

/** transferkit.json: everything about a saved model that its weights do not say. */
export interface ModelMetadata {
  format: 'transferkit-model';
  version: 1;
  /** The pretrained base: application id and the options it was built with. */
  base: { id: string; alpha?: number; weights: string | null };
  /** Height, width, channels of one input image. */
  inputShape: [number, number, number];
  preprocessing: PreprocessMode;
  classNames?: string[];
  /** 'binary' (one sigmoid unit), 'categorical' (softmax) or 'regression'. */
  task?: 'binary' | 'categorical' | 'regression';
  head?: string;
  strategy?: string;
  /** Two classes: the decision threshold on p(second class) (default 0.5; `--threshold auto` picks one). */
  threshold?: number;
  /** Multi-band rasters: the bands, their scaling (training statistics) and roles, and the adaptation. */
  bands?: BandSettings & { adaptation: string; names?: string[]; firstConv?: string };
  /** DICOM images: the window and frame training used. */
  dicom?: DicomSettings;
  /** An imported ONNX base: base.onnx beside the head, its hash, source, feature value and preprocessing. */
  onnxBase?: OnnxBaseRecord;
  [key: string]: unknown;
}

/** How the saved model reads its inputs: photos, or the raster bands it was trained on, scaled the same way. */
export function sourceOf(meta: ModelMetadata): PixelSource {
  if (meta.bands) return rasterSource(meta.preprocessing, meta.bands);
  if (meta.onnxBase) return onnxPhotoSource(meta.onnxBase.preprocessing);
  return photoSource(meta.preprocessing, { channels: meta.inputShape[2] === 1 ? 1 : 3, dicom: meta.dicom });
}

/** A model loaded from a run folder: the Keras model, its metadata and, for an ONNX base, its graph. */
export interface SavedModel {
  /** The Keras model; on an imported ONNX base, the head behind a stand-in for the base. */
  model: tfl.LayersModel;
  metadata: ModelMetadata;
  /** The imported base's graph (base.onnx, hash-checked), when the model has one. */
  onnxBase?: Uint8Array;
}

/**
 * Saves a model into `dir` (created if needed). Each file is written to a temporary name and renamed, and
 * transferkit.json comes last, so a directory that has it holds a complete model.
 */
export async function saveModel(model: tfl.LayersModel, dir: string, metadata: ModelMetadata, onnxBase?: Uint8Array): Promise<void> {
  const files = await modelFolderFiles(model, metadata, dir, onnxBase);
  await fsp.mkdir(dir, { recursive: true });
  for (const [name, bytes] of files) await writeFileAtomic(path.join(dir, name), bytes);
}

async function readJson<T>(file: string, fix: string): Promise<T> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new TransferkitError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ${fix}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new TransferkitError(`${file}: not valid JSON (the file is damaged); ${fix}`);
  }
}

export interface LoadModelOptions {
  /** How the images are scaled for the model; a foreign Keras model needs it unless its base is recognised. */
  preprocessing?: PreprocessMode;
}

/** Teachable Machine and many Keras projects ship `labels.txt` beside the model: one class a line, `0 name`. */
async function labelsBeside(file: string): Promise<string[] | undefined> {
  const text = await fsp.readFile(path.join(path.dirname(file), 'labels.txt'), 'utf8').catch(() => undefined);
  const lines = text
    ?.split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return lines?.length ? lines.map((l) => l.replace(/^\d+\s+/, '')) : undefined;
}

const outputUnits = (model: tfl.LayersModel) => model.outputs[0].shape[model.outputs[0].shape.length - 1] ?? 1;

/** What the last layer says about the task: one sigmoid unit is binary, one linear unit a regressor. */
function taskOf(model: tfl.LayersModel): ModelMetadata['task'] {
  const units = model.outputs[0].shape[model.outputs[0].shape.length - 1];
  if (units !== 1) return 'categorical';
  let last: tfl.layers.Layer = model.layers[model.layers.length - 1];
  while ('layers' in last && Array.isArray((last as tfl.LayersModel).layers)) last = (last as tfl.LayersModel).layers.at(-1) as tfl.layers.Layer;
  const activation = (last.getConfig().activation as string | undefined) ?? '';
  return activation === 'sigmoid' ? 'binary' : activation === 'linear' ? 'regression' : 'categorical';
}

/**
 * A Keras full model (.keras, .h5) as a saved model: transferkit's own metadata when transferkit wrote the file,
 * else what the model says (input size and channels, task, a recognised base's preprocessing) and labels.txt.
 */
async function loadKerasFile(file: string, options: LoadModelOptions): Promise<SavedModel> {
  const { model, format, kerasVersion, transferkit } = await readKerasModel(file);
  const inputShape = imageInputShape(model, file);
  if (transferkit?.format === 'transferkit-model') {
    const metadata = transferkit as ModelMetadata;
    checkMetadata(metadata, `${file} (transferkit.json)`);
    checkClassCount(metadata.classNames, outputUnits(model), metadata.task, `${file} (transferkit.json)`);
    return { model, metadata: { ...metadata, preprocessing: options.preprocessing ?? metadata.preprocessing } };
  }
  const base = recognisedBase(model);
  const preprocessing = options.preprocessing ?? base?.preprocessing;
  if (!preprocessing) {
    throw new TransferkitError(
      `${file}: how this Keras model scales its input is unknown; say --preprocessing unit|tf|caffe|torch|none (unit = x/255, how most Keras users scale; none = raw 0-255)`,
    );
  }
  if (inputShape[2] === 1 && !elementwise(preprocessing))
    throw new TransferkitError(`${file}: ${preprocessing} preprocessing needs RGB, and the model takes grayscale; use unit, tf or none`);
  const metadata: ModelMetadata = {
    format: 'transferkit-model',
    version: 1,
    base: { id: base?.id ?? 'keras', weights: path.resolve(file) },
    inputShape,
    preprocessing,
    classNames: await labelsBeside(file),
    task: taskOf(model),
    source: { format, kerasVersion: kerasVersion ?? null, file: path.resolve(file) },
  };
  return { model, metadata };
}

/** Largest weight a saved model may declare (elements): more than any base transferkit builds holds in one tensor. */
const MAX_WEIGHT_ELEMENTS = 2 ** 28;

/** The manifest's weight specs, each checked (float32, whole non-negative dims, a sane size) before any bytes are read. */
function weightSpecs(groups: unknown[], file: string): tf.io.WeightsManifestEntry[] {
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const group of groups) {
    const weights = (group as { weights?: unknown } | null)?.weights;
    if (!Array.isArray(weights)) throw new TransferkitError(`${file}: a weightsManifest group has no weights list; the file is damaged`);
    for (const spec of weights as Array<Partial<tf.io.WeightsManifestEntry> | null>) {
      const shape = spec?.shape;
      const ok =
        typeof spec?.name === 'string' &&
        spec.dtype === 'float32' &&
        Array.isArray(shape) &&
        shape.every((d) => Number.isInteger(d) && d >= 0) &&
        shape.reduce((a, b) => a * b, 1) <= MAX_WEIGHT_ELEMENTS;
      if (!ok)
        throw new TransferkitError(
          `${file}: weight ${JSON.stringify(spec?.name ?? null)} has a damaged spec (name, float32 dtype, shape); the file is damaged`,
        );
      specs.push(spec as tf.io.WeightsManifestEntry);
    }
  }
  return specs;
}

/** The name of the first weight holding NaN or ±Infinity (they make every prediction NaN), if any. */
function firstNonFinite(data: ArrayBuffer, specs: tf.io.WeightsManifestEntry[]): string | undefined {
  const values = new Float32Array(data);
  let at = 0;
  for (const spec of specs) {
    const end = at + spec.shape.reduce((a, b) => a * b, 1);
    if (!allFinite(values, at, end)) return spec.name;
    at = end;
  }
  return undefined;
}

async function readBase(dir: string, record: OnnxBaseRecord, fix: string): Promise<Uint8Array> {
  const file = path.join(dir, BASE_FILE);
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    throw new TransferkitError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code}); the model's imported base is missing; ${fix}`);
  }
  return checkBaseBytes(new Uint8Array(bytes), record, file);
}

/**
 * Loads a model saved by `saveModel` (a folder), or a Keras full model (`model.keras`, `model.h5`); a missing
 * or damaged file is an error naming it.
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<SavedModel> {
  await initBackend();
  if (isKerasModelPath(dir)) return loadKerasFile(dir, options);
  const fix = `is ${dir} a model saved by transferkit (model.json, weights.bin, transferkit.json)?`;
  const metadata = await readJson<ModelMetadata>(path.join(dir, METADATA), fix);
  if (!metadata || typeof metadata !== 'object' || metadata.format !== 'transferkit-model')
    throw new TransferkitError(`${path.join(dir, METADATA)}: not transferkit model metadata; ${fix}`);
  checkMetadata(metadata, path.join(dir, METADATA));
  const manifest = await readJson<{ modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> }>(
    path.join(dir, MODEL_JSON),
    fix,
  );
  if (!manifest || typeof manifest !== 'object' || !manifest.modelTopology || !Array.isArray(manifest.weightsManifest)) {
    throw new TransferkitError(`${path.join(dir, MODEL_JSON)}: not a tfjs layers model (no modelTopology / weightsManifest); ${fix}`);
  }
  checkTopology(manifest.modelTopology, path.join(dir, MODEL_JSON));
  const specs = weightSpecs(manifest.weightsManifest, path.join(dir, MODEL_JSON));
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  const weightsFile = path.join(dir, WEIGHTS_BIN);
  let weights: Buffer;
  try {
    // The size first: a damaged manifest must not make us read (or allocate for) more than the file holds.
    const size = (await fsp.stat(weightsFile)).size;
    if (size !== expected) throw new TransferkitError(`${weightsFile}: ${size} bytes, the model needs ${expected}; the file is damaged`);
    weights = await fsp.readFile(weightsFile);
  } catch (err) {
    if (err instanceof TransferkitError) throw err;
    throw new TransferkitError(`${weightsFile}: cannot read it (${(err as NodeJS.ErrnoException).code}); ${fix}`);
  }
  const data = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) as ArrayBuffer;
  const nonFinite = firstNonFinite(data, specs);
  if (nonFinite) throw new TransferkitError(`${weightsFile}: weight ${nonFinite} holds NaN or infinite values; the file is damaged (save the model again)`);
  const onnxBase = metadata.onnxBase ? await readBase(dir, metadata.onnxBase, fix) : undefined;
  try {
    const model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: manifest.modelTopology, weightSpecs: specs, weightData: data }));
    checkLayerShapes(model, path.join(dir, MODEL_JSON));
    checkClassCount(metadata.classNames, outputUnits(model), metadata.task, path.join(dir, METADATA));
    return { model, metadata: { ...metadata, preprocessing: options.preprocessing ?? metadata.preprocessing }, ...(onnxBase ? { onnxBase } : {}) };
  } catch (err) {
    throw new TransferkitError(`${path.join(dir, MODEL_JSON)}: tfjs cannot rebuild the model (${reasonOf(err)}); ${fix}`);
  }
}
