// The Keras layers the ONNX compiler knows, one rule per class (each family's file registers its own), for the
// inference compiler (compile.ts) and the training compiler (train.ts) alike.
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../../../errors.js';
import { ACTIVATIONS, activationLayers } from './activations.js';
import { channelsLast } from './channels-first.js';
import { convLayers } from './conv.js';
import { denseLayers } from './dense.js';
import { embeddingLayers } from './embedding.js';
import { mergeLayers } from './merge.js';
import { normLayers } from './norm.js';
import { poolingLayers } from './pooling.js';
import { preprocessingLayers } from './preprocessing.js';
import { regularizationLayers } from './regularization.js';
import { reshapeLayers } from './reshape.js';
import type { LayerRule } from './types.js';

export const KERAS_LAYERS: Readonly<Record<string, LayerRule>> = {
  ...convLayers,
  ...denseLayers,
  ...normLayers,
  ...poolingLayers,
  ...mergeLayers,
  ...reshapeLayers,
  ...activationLayers,
  ...regularizationLayers,
  ...preprocessingLayers,
  ...embeddingLayers,
};

/** The rule of a layer's class, or the inference compiler's refusal naming the layer. */
export function layerRule(layer: tfl.layers.Layer): LayerRule {
  const cls = layer.getClassName();
  const rule = Object.hasOwn(KERAS_LAYERS, cls) ? KERAS_LAYERS[cls] : undefined;
  if (!rule) throw new TransferkitError(`the ONNX compiler does not support layer ${layer.name} (${cls})`);
  return rule;
}

export { ACTIVATIONS } from './activations.js';
export { channelsLast } from './channels-first.js';
export { toNchw, toNhwc } from './nchw.js';
export { Tape } from './tape.js';
export type { LayerRule, TrainGraph, Value } from './types.js';

/**
 * The training emission of a layer: refused at build time, naming the layer and its class, where the class does
 * not train, its activation is unknown, or the class is not in the table.
 */
export function trainRule(layer: tfl.layers.Layer): { train: NonNullable<LayerRule['train']>; unsupported(why: string): TransferkitError } {
  const cls = layer.getClassName();
  const unsupported = (why: string) => new TransferkitError(`the training compiler cannot train ${layer.name} (${cls}): ${why}`);
  const rule = Object.hasOwn(KERAS_LAYERS, cls) ? KERAS_LAYERS[cls] : undefined;
  if (!rule) throw unsupported('the ONNX compiler does not know this layer class; use the feature-extraction strategy');
  const train = rule.train;
  if (!train) throw unsupported(rule.refuse ?? 'this layer class does not train');
  const act = (layer.getConfig() as { activation?: unknown }).activation;
  if (typeof act === 'string' && !Object.hasOwn(ACTIVATIONS, act)) throw unsupported(`activation '${act}' is not one the ONNX compiler knows`);
  // Channels-first inputs (channels-first.ts) go to the rules that take them as they are, to the others channels last.
  if (rule.channelsFirst) return { train, unsupported };
  return { train: (call) => train({ ...call, xs: call.xs.map((x) => channelsLast(call.e.t, x)) }), unsupported };
}
