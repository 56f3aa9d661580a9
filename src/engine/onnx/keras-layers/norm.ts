// Normalisation layers with weights: BatchNormalization (moving statistics frozen, Keras's rule for fine-tuning),
// LayerNormalization over the channels, ConvNeXt's LayerScale.
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../../../errors.js';
import type { GraphBuilder } from '../graph.js';
import { markChannelsFirst } from './channels-first.js';
import { type Weight, channelConstant, toNchw, toNhwc, weightsOf } from './nchw.js';
import type { Tape } from './tape.js';
import type { LayerRule, TrainGraph, Value } from './types.js';

/**
 * BatchNormalization in inference mode: moving statistics fixed, gamma and beta trained when their layer is.
 * y = (x − mean)/√(var + ε)·γ + β over the last axis, run as x·s + b with s = γ/σ and b = β − mean·s computed on
 * the channel vectors: two full-size passes instead of four, and no normalised copy of x kept for the backward.
 */
function batchNorm(t: Tape, x: string, gamma: string, beta: string, mean: Float32Array, variance: Float32Array, eps: number, rank: number): string {
  const { g } = t;
  const n = mean.length;
  const invStd = g.constant(
    'bn_inv_std',
    variance.map((v) => 1 / Math.sqrt(v + eps)),
    [n],
  );
  const mu = g.constant('bn_mean', mean, [n]);
  // Channels first ([C, N·H·W], channels-first.ts): the channel vectors as columns, the sums over axis 1.
  const cf = t.channelsFirst.get(x);
  const column = (v: string) => (cf ? g.op('Reshape', [v, g.ints('shape', [-1, 1])]) : v);
  const scale = g.op('Mul', [gamma, invStd], {}, 'bn_scale');
  const scaleOf = column(scale);
  const shift = g.op('Sub', [beta, g.op('Mul', [mu, scale])], {}, 'bn_shift');
  const y = g.op('Add', [g.op('Mul', [x, scaleOf], {}, 'bn_scaled'), column(shift)], {}, 'bn');
  // Made only when γ or β trains: an unused initializer draws a warning from ONNX Runtime.
  const axes = () =>
    cf
      ? g.ints('axis1', [1])
      : g.ints(
          'bn_axes',
          Array.from({ length: rank - 1 }, (_, i) => i),
        );
  // Fused: dX = dY·s in one full-size product; dγ = (Σ dY·x − mean·Σ dY)/σ from x itself.
  t.fuse(y, [x, gamma, beta], (dy, wants) => {
    const dbeta = wants(1) || wants(2) ? g.op('ReduceSum', [dy, axes()], { keepdims: 0 }, 'dbeta') : undefined;
    let dgamma: string | undefined;
    if (wants(1)) {
      const dyx = g.op('ReduceSum', [g.op('Mul', [dy, x]), axes()], { keepdims: 0 });
      dgamma = g.op('Mul', [g.op('Sub', [dyx, g.op('Mul', [mu, dbeta as string])]), invStd], {}, 'dgamma');
    }
    return [wants(0) ? g.op('Mul', [dy, scaleOf], {}, 'dbn') : undefined, dgamma, wants(2) ? dbeta : undefined];
  });
  return cf ? markChannelsFirst(t, y, cf) : y;
}

/** A BatchNormalization's γ and β (graph inputs when trained; ones and zeros where absent) and its fixed statistics. */
export function batchNormParams(e: TrainGraph, layer: tfl.layers.Layer, n: number) {
  const names = layer.weights.map((w) => w.originalName.split('/').pop());
  const at = (name: string) => names.indexOf(name);
  const values = layer.getWeights();
  const stat = (name: string) => values[at(name)].dataSync() as Float32Array;
  return {
    gamma: at('gamma') >= 0 ? e.weight(layer, at('gamma')) : e.g.constant('ones', new Float32Array(n).fill(1), [n]),
    beta: at('beta') >= 0 ? e.weight(layer, at('beta')) : e.g.constant('zeros', new Float32Array(n), [n]),
    mean: stat('moving_mean'),
    variance: stat('moving_variance'),
    eps: layer.getConfig().epsilon as number,
  };
}

/** Whether a normalised axis is the channels: Keras's last axis (`rank` counts the batch). */
const lastAxis = (axis: unknown, rank: number) => {
  const axes = ([] as number[]).concat(axis as number | number[]);
  return axes.length === 1 && (axes[0] === -1 || axes[0] === rank - 1);
};

/**
 * LayerNormalization over the channels of an NCHW map as ONNX's op over the last axis of its NHWC view: one fused
 * kernel instead of seven full-size elementwise passes, and ORT folds the Transposes into the reorders out of and
 * back into its blocked convolution layout (ConvNeXt's block: depthwise conv, LayerNorm, pointwise conv).
 */
function layerNormOfMap(g: GraphBuilder, name: string, x: Value, ws: Record<string, Weight>, epsilon: number): Value {
  const n = (ws.gamma ?? (ws.beta as Weight)).values.length;
  const gamma = ws.gamma?.values ?? new Float32Array(n).fill(1);
  const beta = ws.beta?.values ?? new Float32Array(n);
  const args = [toNhwc(g, x).name, g.constant(`${name}_gamma`, gamma, [n]), g.constant(`${name}_beta`, beta, [n])];
  const y = g.op('LayerNormalization', args, { axis: -1, epsilon: { float: epsilon } }, name);
  return toNchw(g, { name: y, rank: 4 });
}

export const normLayers: Record<string, LayerRule> = {
  BatchNormalization: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      const ws = weightsOf(layer);
      const n = ws.moving_mean.values.length;
      const ones = new Float32Array(n).fill(1);
      const scale = ws.gamma?.values ?? ones;
      const beta = ws.beta?.values ?? new Float32Array(n);
      const args = [x.name, ...[scale, beta, ws.moving_mean.values, ws.moving_variance.values].map((v, i) => g.constant(`${layer.name}_${i}`, v, [n]))];
      return [{ name: g.op('BatchNormalization', args, { epsilon: { float: c.epsilon as number } }, layer.name), rank: x.rank }];
    },
    channelsFirst: true,
    train: ({ e, layer, c, xs: [x], shapes: [shape], unsupported }) => {
      const axis = c.axis as number;
      if (axis !== -1 && axis !== shape.length) throw unsupported('normalising an axis other than the last');
      if (e.t.foldedNorms.has(layer.name)) return [x];
      const p = batchNormParams(e, layer, shape[shape.length - 1]);
      return [batchNorm(e.t, x, p.gamma, p.beta, p.mean, p.variance, p.eps, shape.length + 1)];
    },
  },
  LayerNormalization: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      // Over the channels: axis 1 of NCHW feature maps and of [N, C] values alike.
      if (!lastAxis(c.axis, x.rank)) throw new TransferkitError(`the ONNX compiler supports LayerNormalization over the last axis only (layer ${layer.name})`);
      const ws = weightsOf(layer);
      if (x.rank === 4 && (ws.gamma || ws.beta)) return [layerNormOfMap(g, layer.name, x, ws, c.epsilon as number)];
      const centred = g.op('Sub', [x.name, g.op('ReduceMean', [x.name], { axes: [1] })], {}, layer.name);
      const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], { axes: [1] });
      const std = g.op('Sqrt', [g.op('Add', [variance, g.constant(`${layer.name}_eps`, [c.epsilon as number], [])])]);
      let y = g.op('Div', [centred, std], {}, layer.name);
      if (ws.gamma) y = g.op('Mul', [y, channelConstant(g, `${layer.name}_gamma`, ws.gamma.values, x.rank)], {}, layer.name);
      if (ws.beta) y = g.op('Add', [y, channelConstant(g, `${layer.name}_beta`, ws.beta.values, x.rank)], {}, layer.name);
      return [{ name: y, rank: x.rank }];
    },
    // ONNX's op with trainable γ and β; its rule recomputes the statistics.
    train: ({ e, layer, c, xs: [x], shapes: [shape], unsupported }) => {
      if (!lastAxis(c.axis, shape.length + 1)) throw unsupported('normalising axes other than the last');
      if (!c.center || !c.scale) throw unsupported('without centre or scale');
      const attrs = { axis: -1, epsilon: { float: c.epsilon as number } };
      return [e.g.op('LayerNormalization', [x, e.weight(layer, 0), e.weight(layer, 1)], attrs, 'layer_norm')];
    },
  },
  // ConvNeXt's x·γ with a γ per channel.
  LayerScale: {
    infer: ({ g, layer, inputs: [x] }) => [
      { name: g.op('Mul', [x.name, channelConstant(g, `${layer.name}_gamma`, weightsOf(layer).gamma.values, x.rank)], {}, layer.name), rank: x.rank },
    ],
    train: ({ e, layer, xs: [x] }) => [e.g.op('Mul', [x, e.weight(layer, 0)], {}, 'layer_scale')],
  },
};
