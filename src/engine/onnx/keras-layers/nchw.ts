// The inference graph's layout: activations stay NCHW inside the graph (ORT's fast convolution layout); Keras's
// NHWC order is restored where it shows: at Flatten and Reshape (whose element order is Keras's), and at the
// graph's output. Weights become constants in ONNX's layouts.
import type * as tfl from '@tensorflow/tfjs-layers';
import type { GraphBuilder } from '../graph.js';
import type { Value } from './types.js';

/** NCHW → NHWC for a rank-4 value, as Keras lays memory out. */
export function toNhwc(g: GraphBuilder, v: Value): Value {
  return v.rank === 4 ? { name: g.op('Transpose', [v.name], { perm: [0, 2, 3, 1] }, 'to_nhwc'), rank: 4 } : v;
}

export function toNchw(g: GraphBuilder, v: Value): Value {
  return v.rank === 4 ? { name: g.op('Transpose', [v.name], { perm: [0, 3, 1, 2] }, 'to_nchw'), rank: 4 } : v;
}

export interface Weight {
  values: Float32Array;
  shape: number[];
}

/** A layer's weights by their Keras names (kernel, bias, gamma, moving_mean, …). */
export function weightsOf(layer: tfl.layers.Layer): Record<string, Weight> {
  const out: Record<string, Weight> = {};
  const tensors = layer.getWeights();
  layer.weights.forEach((w, i) => {
    out[w.originalName.split('/').pop() as string] = { values: tensors[i].dataSync() as Float32Array, shape: w.shape as number[] };
  });
  return out;
}

/** Keras HWIO (depthwise: H, W, in, multiplier) → ONNX OIHW. */
export function hwioToOihw(values: Float32Array, [kh, kw, ci, co]: number[], depthwise = false): { values: Float32Array; dims: number[] } {
  const out = new Float32Array(values.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < ci; c++)
        for (let o = 0; o < co; o++) {
          const src = ((i * kw + j) * ci + c) * co + o;
          // Depthwise: output channel c*multiplier + o of a grouped conv with one input channel per group.
          const dst = depthwise ? ((c * co + o) * kh + i) * kw + j : ((o * ci + c) * kh + i) * kw + j;
          out[dst] = values[src];
        }
  return { values: out, dims: depthwise ? [ci * co, 1, kh, kw] : [co, ci, kh, kw] };
}

export const autoPad = (padding: unknown) => (padding === 'same' ? 'SAME_UPPER' : 'VALID');
export const pair = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);

/** Per-channel constants shaped to broadcast over NCHW (or over the last axis of a rank-2 value). */
export function channelConstant(g: GraphBuilder, name: string, values: Float32Array | number[], rank: number): string {
  const n = values.length;
  return g.constant(name, values, rank === 4 ? [1, n, 1, 1] : [1, n]);
}
