// A saved model's files as bytes, in memory: what `saveModel` writes into a folder in Node and what a page zips
// for a download. No file system here, so the browser build shares it.
import { tf, type tfl } from '../../tfjs.js';
import { TransferkitError } from '../../errors.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const METADATA = 'transferkit.json';

/**
 * The folder's files, name → bytes, in the order they are written: transferkit.json last, so a folder that has
 * it holds a complete model. `metadata` is transferkit.json's content (an imported base's record names its file);
 * `label` names the model in errors.
 */
export async function modelFolderFiles(
  model: tfl.LayersModel,
  metadata: { onnxBase?: { file: string } },
  label: string,
  onnxBase?: Uint8Array,
): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const text = (s: string) => new TextEncoder().encode(s);
  if (metadata.onnxBase) {
    if (!onnxBase) throw new TransferkitError(`saving ${label}: the model has an imported ONNX base, and its graph was not given`);
    files.set(metadata.onnxBase.file, onnxBase);
  }
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData as ArrayBuffer;
      files.set(WEIGHTS_BIN, new Uint8Array(weights));
      const manifest = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: 'transferkit',
        convertedBy: null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
      };
      files.set(MODEL_JSON, text(JSON.stringify(manifest)));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
  files.set(METADATA, text(JSON.stringify(metadata, null, 2) + '\n'));
  return files;
}
