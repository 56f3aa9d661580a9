// A model trained in the page on an ONNX base as the files Node writes for one: the model folder `transferkit
// train --base model.onnx` writes (head files, base.onnx and transferkit.json recording it), zipped, or the whole
// model merged into one ONNX graph (`transferkit export --format onnx`).
import { type OnnxBase, encodeBase } from '../engine/onnx-base-graph.js';
import { BASE_FILE, mergedOnnx } from '../train/model/merged-onnx.js';
import type { OnnxBaseRecord } from '../train/model/onnx-base.js';
import { modelFolderFiles } from '../train/saved/model-folder.js';
import type { ModelMetadata } from '../train/saved/saved-model.js';
import { MODEL_FILE_NAMES, modelMetadata, zipFolder } from './model-file.js';
import type { OnnxTrainResult } from './onnx-train.js';

const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');

/** transferkit.json for a head on an ONNX base, as Node's `train` records it (so far as the page knows it). */
async function onnxMetadata(r: OnnxTrainResult, base: OnnxBase, onnx: Uint8Array): Promise<ModelMetadata> {
  const size = base.preprocessing.size;
  const record: OnnxBaseRecord = {
    file: BASE_FILE,
    sha256: hex(await crypto.subtle.digest('SHA-256', onnx as Uint8Array<ArrayBuffer>)),
    source: { id: base.id, path: base.file, sha256: base.sha256 },
    features: { value: base.features.value, rule: base.features.rule, size: r.model.inputs[0].shape.at(-1) as number },
    preprocessing: base.preprocessing,
  };
  return {
    ...modelMetadata(r, { weights: base.file }),
    base: { id: `onnx:${base.id}`, weights: base.file },
    inputShape: [size, size, 3],
    // An imported base scales its pixels inside its graph: the images go in as they are (0–255).
    preprocessing: 'none',
    onnxBase: record,
  };
}

/**
 * The model trained on `base` as the zipped model folder Node's train writes, or as one merged ONNX graph (with the
 * fine-tuned suffix where the run trained one).
 */
export async function onnxModelFile(r: OnnxTrainResult, base: OnnxBase, format: 'folder' | 'onnx'): Promise<Blob> {
  const onnx = r.baseOnnx ?? encodeBase(base);
  if (format === 'onnx') return new Blob([mergedOnnx(onnx, r.model) as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
  const files = await modelFolderFiles(r.model, await onnxMetadata(r, base, onnx), 'the trained model', onnx);
  const zip = zipFolder(MODEL_FILE_NAMES.folder.replace(/\.zip$/, ''), files);
  return new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' });
}
