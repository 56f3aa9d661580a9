// Saves a tfjs-layers model as a Keras full model: Keras 3's `.keras` zip (metadata.json, config.json and
// model.weights.h5, stored uncompressed in that order as saving_lib writes them) or a Keras 2 full-model `.h5`.
import type * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../util/fs.js';
import { kerasModelBytes } from './bytes.js';
import type { KerasFileFormat } from './entries.js';

export { KERAS_VERSION } from './bytes.js';

/**
 * Saves `model` as a Keras full model Keras can load (`keras.saving.load_model`): 'keras' (Keras 3 `.keras`)
 * or 'keras-h5' (Keras 2 full-model HDF5), with `extra` (transferkit's metadata) beside the model where Keras
 * does not look. Written to a temporary name and renamed.
 */
export async function writeKerasModel(model: tfl.LayersModel, file: string, format: KerasFileFormat, extra?: object): Promise<void> {
  await writeFileAtomic(file, await kerasModelBytes(model, format, extra));
}
