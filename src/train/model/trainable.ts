import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../../errors.js';
import { baseModel, isContainer } from '../../model/introspect.js';

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
    throw new TransferkitError(`no layer named '${layerName}' in ${baseModel(model).name}; valid names: ${cutLayerNames(model).join(', ')}`);
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
