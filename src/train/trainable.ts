import * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../errors.js';

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

/** Every trainable flag in the tree, top-down, so it can be put back exactly. */
export type TrainableSnapshot = Array<[tfl.layers.Layer, boolean]>;

export function snapshotTrainable(model: tfl.layers.Layer): TrainableSnapshot {
  const out: TrainableSnapshot = [[model, model.trainable]];
  if (isContainer(model)) for (const l of model.layers) out.push(...snapshotTrainable(l));
  return out;
}

/** Restores flags top-down: a container's setter resets its children, which are then set again after it. */
export function restoreTrainable(snapshot: TrainableSnapshot): void {
  for (const [layer, trainable] of snapshot) layer.trainable = trainable;
}

/** Freezes a model or layer: none of its weights are trained. */
export function freeze(model: tfl.layers.Layer): void {
  model.trainable = false;
}

/** Makes every weight of a model or layer trainable again (BatchNorm moving statistics excepted). */
export function unfreeze(model: tfl.layers.Layer): void {
  model.trainable = true;
  if (isContainer(model)) for (const l of model.layers) unfreeze(l);
}

/** The pretrained base inside a model with a head (its first nested model), or the model itself. */
export function baseModel(model: tfl.LayersModel): tfl.LayersModel {
  return (model.layers.find(isContainer) as tfl.LayersModel | undefined) ?? model;
}

/** The chain of containers from `model` down to the one whose own layers include `name`. */
function pathTo(model: tfl.LayersModel, name: string): tfl.LayersModel[] | undefined {
  if (model.layers.some((l) => l.name === name)) return [model];
  for (const inner of model.layers) {
    if (!isContainer(inner)) continue;
    const path = pathTo(inner, name);
    if (path) return [model, ...path];
  }
  return undefined;
}

/** The names a fine-tune may start from: the base's layers that are not inputs. */
export function cutLayerNames(model: tfl.LayersModel): string[] {
  return baseModel(model)
    .layers.filter((l) => l.getClassName() !== 'InputLayer')
    .map((l) => l.name);
}

/**
 * Fine-tuning set-up as in Keras's guide: within the model that holds `layerName` (the pretrained base), that
 * layer and every later one become trainable and every earlier one frozen. Layers outside the base (the head)
 * keep their flags. An unknown name is an error listing the valid ones.
 */
export function unfreezeFrom(model: tfl.LayersModel, layerName: string): void {
  const path = pathTo(model, layerName);
  if (!path) {
    throw new TransferkitError(
      `no layer named '${layerName}' in ${baseModel(model).name}; valid names: ${cutLayerNames(model).join(', ')}`,
    );
  }
  for (const container of path) container.trainable = true;
  const owner = path[path.length - 1];
  let on = false;
  for (const layer of owner.layers) {
    if (layer.name === layerName) on = true;
    if (on) unfreeze(layer);
    else layer.trainable = false;
  }
}
