// A Keras full model as bytes, in memory: what `export` writes to a file in Node and a page hands to a download.
import type * as tfl from '@tensorflow/tfjs-layers';
import { zipSync } from 'fflate';
import { isContainer } from '../model/introspect.js';
import { type WeightToWrite, writeKerasWeights } from '../weights/h5.js';
import { h5Scratch } from '../weights/h5-host.js';
import { modelLayers } from '../weights/load.js';
import { type KerasFileFormat, METADATA_ENTRY } from './entries.js';
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

/** `date_saved` as saving_lib writes it: 2025-01-31@12:00:00. */
const dateSaved = () => new Date().toISOString().slice(0, 19).replace('T', '@');

async function kerasZipBytes(model: tfl.LayersModel, extra?: object): Promise<Uint8Array> {
  const config = JSON.stringify(keras3Config(model));
  const layers = new Map<string, WeightToWrite[]>();
  for (const [key, layer] of modelLayers(model, 'keras3', '', true)) layers.set(key, isContainer(layer) ? [] : weightsOf(layer, (_, s) => s));
  const weights = await h5Scratch((tmp) => writeKerasWeights(tmp, layers, 'keras3'));
  const text = (s: string) => new TextEncoder().encode(s);
  return zipSync(
    {
      'metadata.json': text(JSON.stringify({ keras_version: KERAS_VERSION, date_saved: dateSaved() })),
      'config.json': text(config),
      'model.weights.h5': weights,
      ...(extra ? { [METADATA_ENTRY]: text(JSON.stringify(extra)) } : {}),
    },
    { level: 0 },
  );
}

function kerasH5Bytes(model: tfl.LayersModel, extra?: object): Promise<Uint8Array> {
  const config = JSON.stringify(keras2Config(model));
  const layers = new Map<string, WeightToWrite[]>();
  // Keras 2 lists every top-level layer; a nested model's group holds all its weights, named `layer/weight`.
  for (const layer of model.layers)
    layers.set(
      layer.name,
      weightsOf(layer, (leaf, s) => (isContainer(layer) ? `${leaf.name}/${s}` : s)),
    );
  return h5Scratch((tmp) => writeKerasWeights(tmp, layers, 'keras2', { modelConfig: config, extra: extra && { [METADATA_ENTRY]: JSON.stringify(extra) } }));
}

/** A Keras full model's bytes: 'keras' (Keras 3 `.keras`) or 'keras-h5' (Keras 2 full-model HDF5), `extra` beside it. */
export function kerasModelBytes(model: tfl.LayersModel, format: KerasFileFormat, extra?: object): Promise<Uint8Array> {
  return format === 'keras' ? kerasZipBytes(model, extra) : kerasH5Bytes(model, extra);
}
