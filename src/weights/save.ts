// Writing a model's weights as Keras .h5 (Node only: a temporary file renamed into place).
import { promises as fsp } from 'node:fs';
import type * as tfl from '@tensorflow/tfjs-layers';
import { tempNameFor } from '../util/fs.js';
import { type KerasWeightsFormat, type WeightToWrite, writeKerasWeights } from './h5.js';
import { modelLayers } from './load.js';

/** Saves the model's weights as a Keras .h5 file (Keras 2 layout by default), written to a temp name and renamed. */
export async function saveWeights(model: tfl.LayersModel, file: string, format: KerasWeightsFormat = 'keras2'): Promise<void> {
  const layers = new Map<string, WeightToWrite[]>();
  for (const [key, layer] of modelLayers(model, format)) {
    const values = layer.getWeights();
    layers.set(
      key,
      layer.weights.map((w, i) => ({
        name: w.originalName.split('/').pop() as string,
        shape: w.shape as number[],
        values: values[i].dataSync() as Float32Array,
      })),
    );
  }
  const tmp = tempNameFor(file);
  try {
    await writeKerasWeights(tmp, layers, format);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
