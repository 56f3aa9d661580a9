// Preprocessing in the model: Rescaling (x·scale + offset) and Normalization ((x − mean)/σ), constants per channel
// or one for all; they train as constants the gradient passes through.
import type * as tfl from '@tensorflow/tfjs-layers';
import { channelConstant, weightsOf } from './nchw.js';
import type { Config, LayerRule } from './types.js';

/** Fixed statistics live in the config (Keras's `mean=`/`variance=`), adapted ones in the weights; as mean and 1/σ. */
function statistics(layer: tfl.layers.Layer, c: Config): { mean: Float32Array; inv: Float32Array } {
  const stats = c.mean
    ? { mean: Float32Array.from(c.mean as number[]), variance: Float32Array.from(c.variance as number[]) }
    : { mean: weightsOf(layer).mean.values, variance: weightsOf(layer).variance.values };
  return { mean: stats.mean, inv: stats.variance.map((v) => 1 / Math.max(Math.sqrt(v), 1e-7)) };
}

const hasOffset = (offset: number | number[]) => Array.isArray(offset) || offset !== 0;

export const preprocessingLayers: Record<string, LayerRule> = {
  Rescaling: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      const scale = c.scale as number | number[];
      const offset = c.offset as number | number[];
      const constant = (name: string, v: number | number[]) => (Array.isArray(v) ? channelConstant(g, name, v, x.rank) : g.constant(name, [v], []));
      const scaled = g.op('Mul', [x.name, constant(`${layer.name}_scale`, scale)], {}, layer.name);
      const shifted = hasOffset(offset) ? g.op('Add', [scaled, constant(`${layer.name}_offset`, offset)], {}, layer.name) : scaled;
      return [{ name: shifted, rank: x.rank }];
    },
    // Constants broadcast over the last (channel) axis of the NHWC values trained here.
    train: ({ e: { g }, layer, c, xs: [x] }) => {
      const constant = (name: string, v: number | number[]) => (Array.isArray(v) ? g.constant(name, v, [v.length]) : g.constant(name, [v], []));
      const offset = c.offset as number | number[];
      const scale = constant(`${layer.name}_scale`, c.scale as number | number[]);
      const shift = hasOffset(offset) ? constant(`${layer.name}_offset`, offset) : undefined;
      const scaled = g.op('Mul', [x, scale], {}, 'rescale');
      return [shift ? g.op('Add', [scaled, shift], {}, 'offset') : scaled];
    },
  },
  Normalization: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      const { mean, inv } = statistics(layer, c);
      const centred = g.op('Sub', [x.name, channelConstant(g, `${layer.name}_mean`, mean, x.rank)], {}, layer.name);
      return [{ name: g.op('Mul', [centred, channelConstant(g, `${layer.name}_inv_std`, inv, x.rank)], {}, layer.name), rank: x.rank }];
    },
    train: ({ e: { g }, layer, c, xs: [x] }) => {
      const { mean, inv } = statistics(layer, c);
      const centred = g.op('Sub', [x, g.constant(`${layer.name}_mean`, mean, [mean.length])], {}, 'normalize');
      return [g.op('Mul', [centred, g.constant(`${layer.name}_inv_std`, inv, [inv.length])], {}, 'normalize')];
    },
  },
};
