// The model trained in the page as files Node loads, the bytes Node's writers produce: a Keras 3 `.keras` (or
// Keras 2 `.h5`) with transferkit's metadata inside (`transferkit export`), the model folder `transferkit train`
// writes (zipped), the tfjs model (`export --format tfjs`, zipped) and the ONNX graph (`export --format onnx`).
import { zipSync } from 'fflate';
import { applicationInfo } from '../applications/common.js';
import { compileInference } from '../engine/onnx/compile.js';
import type { KerasFileFormat } from '../keras/entries.js';
import { kerasModelBytes } from '../keras/bytes.js';
import { baseModel } from '../model/introspect.js';
import { modelFolderFiles } from '../train/saved/model-folder.js';
import type { ModelMetadata } from '../train/saved/saved-model.js';
import type { BrowserTrainResult } from './train.js';
import type { BaseOptions } from './weights.js';

/** How the page hands the model over: a Keras file, the transferkit folder or the tfjs model (each a zip), or ONNX. */
export type ModelFileFormat = KerasFileFormat | 'folder' | 'tfjs' | 'onnx';

/** The file name each format downloads as (a zip holds one folder of that name less `.zip`). */
export const MODEL_FILE_NAMES: Record<ModelFileFormat, string> = {
  keras: 'model.keras',
  'keras-h5': 'model.h5',
  folder: 'model.zip',
  tfjs: 'model-tfjs.zip',
  onnx: 'model.onnx',
};

/** transferkit.json for the trained model: what Node's `train` records, as far as the page knows it. */
export function modelMetadata(r: BrowserTrainResult, base: BaseOptions & { weights: string }): ModelMetadata {
  const info = applicationInfo(baseModel(r.model));
  const shape = r.model.inputs[0].shape as number[];
  return {
    format: 'transferkit-model',
    version: 1,
    base: { id: info?.spec.id ?? base.application ?? 'mobilenet', ...(base.alpha !== undefined ? { alpha: base.alpha } : {}), weights: base.weights },
    inputShape: [shape[1], shape[2], shape[3]],
    preprocessing: info?.spec.preprocessing ?? 'none',
    classNames: r.classNames,
    task: r.task,
    head: r.head,
    strategy: r.strategy,
    history: r.history,
    val: r.val,
  };
}

/** Files as one zip whose entries sit in `folder/` (unzipped, the folder Node reads). */
export function zipFolder(folder: string, files: Map<string, Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries([...files].map(([name, bytes]) => [`${folder}/${name}`, bytes])));
}

/**
 * The trained model in `format` (default a Keras 3 `.keras`); `base` says how its base was built (the weights
 * file's name, its alpha). The tfjs zip holds what `transferkit export --format tfjs` writes: the same three files
 * as the model folder (model.json, weights.bin, transferkit.json), as in Node.
 */
export async function modelFile(r: BrowserTrainResult, base: BaseOptions & { weights: string }, format: ModelFileFormat = 'keras'): Promise<Blob> {
  const metadata = modelMetadata(r, base);
  let bytes: Uint8Array;
  if (format === 'onnx') bytes = compileInference(r.model).onnx;
  else if (format === 'folder' || format === 'tfjs')
    bytes = zipFolder(MODEL_FILE_NAMES[format].replace(/\.zip$/, ''), await modelFolderFiles(r.model, metadata, 'the trained model'));
  else bytes = await kerasModelBytes(r.model, format, metadata);
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: format === 'folder' || format === 'tfjs' ? 'application/zip' : 'application/octet-stream' });
}
