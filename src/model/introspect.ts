// What a tfjs-layers model holds: containers, parameter counts, the pretrained base. Every layer above
// (applications, weights, engine, train, report) reads models through these.
import { tfl } from '../tfjs.js';

/** Parameter counts as Keras's summary gives them. */
export interface ParamCounts {
  total: number;
  trainable: number;
  nonTrainable: number;
}

/** A layer that holds layers (a nested Functional or Sequential model). */
export function isContainer(layer: tfl.layers.Layer): layer is tfl.LayersModel {
  return layer instanceof tfl.LayersModel;
}

const size = (shape: ReadonlyArray<number | null>) => shape.reduce<number>((a, b) => a * (b ?? 0), 1);

/**
 * Parameter counts read from the live `trainable` flags of `layer` and everything inside it: a weight counts as
 * trainable only when its layer and every container above it are trainable. Nothing is cached, so a count
 * taken right after a freeze or unfreeze is always current.
 */
export function countParams(layer: tfl.layers.Layer, ancestorsTrainable = true): ParamCounts {
  const on = ancestorsTrainable && layer.trainable;
  if (isContainer(layer)) {
    const sum = { total: 0, trainable: 0, nonTrainable: 0 };
    for (const inner of layer.layers) {
      const c = countParams(inner, on);
      sum.total += c.total;
      sum.trainable += c.trainable;
      sum.nonTrainable += c.nonTrainable;
    }
    return sum;
  }
  const total = layer.weights.reduce((n, w) => n + size(w.shape), 0);
  const trainable = on ? layer.trainableWeights.reduce((n, w) => n + size(w.shape), 0) : 0;
  return { total, trainable, nonTrainable: total - trainable };
}

/** The pretrained base inside a model with a head (its first nested model), or the model itself. */
export function baseModel(model: tfl.LayersModel): tfl.LayersModel {
  return (model.layers.find(isContainer) as tfl.LayersModel | undefined) ?? model;
}
