// Saves a tfjs-layers model as a Keras full model: Keras 3's `.keras` zip (metadata.json, config.json and
// model.weights.h5, stored uncompressed in that order as saving_lib writes them) or a Keras 2 full-model `.h5`.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { zipSync } from 'fflate';
import { isContainer } from '../model/introspect.js';
import { tempNameFor, writeFileAtomic } from '../util/fs.js';
import { type WeightToWrite, writeKerasWeights } from '../weights/h5.js';
import { modelLayers } from '../weights/load.js';
import { type KerasFileFormat, METADATA_ENTRY } from './read.js';
import { keras2Config, keras3Config } from './to-keras.js';

/** The Keras version the written files were checked against (Keras 3's load_model reads them). */
export const KERAS_VERSION = '3.15.1';

type Layer = tfl.layers.Layer;

/** A layer's weights as Keras stores them (Normalization's statistics flattened to [C], as Keras builds them). */
function weightsOf(layer: Layer, names: (leaf: Layer, short: string) => string): WeightToWrite[] {
  const leaves = (l: Layer): Layer[] => (isContainer(l) ? l.layers.flatMap(leaves) : [l]);
  const owner = new Map(leaves(layer).flatMap((leaf) => leaf.weights.map((w) => [w, leaf] as const)));
  const values = layer.getWeights();
  return layer.weights.map((w, i) => {
    const leaf = owner.get(w) as Layer;
    const short = w.originalName.split('/').pop() as string;
    const flat = leaf.getClassName() === 'Normalization' && short !== 'count';
    const shape = flat ? (w.shape as number[]).filter((d) => d !== 1) : (w.shape as number[]);
    return { name: names(leaf, short), shape: flat && shape.length === 0 ? [1] : shape, values: values[i].dataSync() as Float32Array };
  });
}

async function h5Bytes(write: (tmp: string) => Promise<void>): Promise<Uint8Array> {
  const tmp = tempNameFor(path.join(os.tmpdir(), 'model.weights.h5'));
  try {
    await write(tmp);
    return new Uint8Array(await fsp.readFile(tmp));
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/** `date_saved` as saving_lib writes it: 2025-01-31@12:00:00. */
const dateSaved = () => new Date().toISOString().slice(0, 19).replace('T', '@');

async function writeKerasZip(model: tfl.LayersModel, file: string, extra?: object): Promise<void> {
  const config = JSON.stringify(keras3Config(model));
  const layers = new Map<string, WeightToWrite[]>();
  for (const [key, layer] of modelLayers(model, 'keras3', '', true)) layers.set(key, isContainer(layer) ? [] : weightsOf(layer, (_, s) => s));
  const weights = await h5Bytes((tmp) => writeKerasWeights(tmp, layers, 'keras3'));
  const text = (s: string) => new TextEncoder().encode(s);
  const zip = zipSync(
    {
      'metadata.json': text(JSON.stringify({ keras_version: KERAS_VERSION, date_saved: dateSaved() })),
      'config.json': text(config),
      'model.weights.h5': weights,
      ...(extra ? { [METADATA_ENTRY]: text(JSON.stringify(extra)) } : {}),
    },
    { level: 0 },
  );
  await writeFileAtomic(file, zip);
}

async function writeKerasH5(model: tfl.LayersModel, file: string, extra?: object): Promise<void> {
  const config = JSON.stringify(keras2Config(model));
  const layers = new Map<string, WeightToWrite[]>();
  // Keras 2 lists every top-level layer; a nested model's group holds all its weights, named `layer/weight`.
  for (const layer of model.layers)
    layers.set(
      layer.name,
      weightsOf(layer, (leaf, s) => (isContainer(layer) ? `${leaf.name}/${s}` : s)),
    );
  await writeFileAtomic(
    file,
    await h5Bytes((tmp) => writeKerasWeights(tmp, layers, 'keras2', { modelConfig: config, extra: extra && { [METADATA_ENTRY]: JSON.stringify(extra) } })),
  );
}

/**
 * Saves `model` as a Keras full model Keras can load (`keras.saving.load_model`): 'keras' (Keras 3 `.keras`)
 * or 'keras-h5' (Keras 2 full-model HDF5), with `extra` (transferkit's metadata) beside the model where Keras
 * does not look. Written to a temporary name and renamed.
 */
export async function writeKerasModel(model: tfl.LayersModel, file: string, format: KerasFileFormat, extra?: object): Promise<void> {
  if (format === 'keras') await writeKerasZip(model, file, extra);
  else await writeKerasH5(model, file, extra);
}
