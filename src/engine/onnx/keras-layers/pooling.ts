// Pooling layers: windowed max and average (square strides in training), and global pooling to [N, C].
import { isChannelsFirst } from './channels-first.js';
import { autoPad, pair } from './nchw.js';
import { avgPool, maxPool, maxPoolWindows } from './pool-train.js';
import type { InferCall, LayerRule } from './types.js';
import { windowOf } from './window.js';

const windowed =
  (op: 'MaxPool' | 'AveragePool') =>
  ({ g, layer, c, inputs: [x] }: InferCall) => {
    const attrs = { kernel_shape: pair(c.poolSize), strides: pair(c.strides ?? c.poolSize), auto_pad: autoPad(c.padding) };
    return [{ name: g.op(op, [x.name], attrs, layer.name), rank: 4 }];
  };

const global = (op: 'GlobalAveragePool' | 'GlobalMaxPool', kind: 'avg' | 'max'): LayerRule => ({
  infer: ({ g, layer, inputs: [x] }) => [{ name: g.op('Flatten', [g.op(op, [x.name], {}, layer.name)], { axis: 1 }), rank: 2 }],
  channelsFirst: true,
  train: ({ e: { g, t }, xs: [x], shapes: [[h, w, c]] }) => {
    const reduce = kind === 'avg' ? 'ReduceMean' : 'ReduceMax';
    if (!isChannelsFirst(t, x)) return [g.op(reduce, [x], { axes: [1, 2], keepdims: 0 }, `global_${kind}`)];
    // Channels first: each (channel, example)'s positions are contiguous; the [C, N] result transposed.
    const pooled = g.op(reduce, [g.op('Reshape', [x, g.ints('shape', [c, -1, h * w])])], { axes: [2], keepdims: 0 }, `global_${kind}`);
    const y = g.op('Transpose', [pooled], { perm: [1, 0] });
    // The mean's backward spreads dY/(H·W) over each row of positions as one outer product (K = 1 Gemm): the
    // ReduceMean rule's Expand along the innermost axis took 1.5× as long.
    if (kind === 'avg')
      t.fuse(y, [x], (dy) => {
        const column = g.op('Reshape', [g.op('Transpose', [dy], { perm: [1, 0] }), g.ints('shape', [-1, 1])]);
        const spread = g.constant('mean_spread', new Float32Array(h * w).fill(1 / (h * w)), [1, h * w]);
        return [g.op('Reshape', [g.op('Gemm', [column, spread], {}, 'dglobal_avg'), g.ints('shape', [c, -1])])];
      });
    return [y];
  },
});

export const poolingLayers: Record<string, LayerRule> = {
  MaxPooling2D: {
    infer: windowed('MaxPool'),
    train: ({ e, c, xs: [x], shapes: [shape], unsupported }) => {
      const [ph, pw] = c.poolSize as number[];
      const [sh, sw] = (c.strides as number[] | undefined) ?? [ph, pw];
      if (c.padding !== 'valid' || sh !== sw) throw unsupported(`max pooling ${ph}x${pw}/${sh}x${sw} (${c.padding}); 'valid' with square strides only`);
      const win = windowOf(shape[0], shape[1], ph, pw, sh, 'valid');
      // Non-overlapping windows tiling the input reshape into blocks; others (NASNet's 3×3/2) gather.
      if (ph === sh && pw === sw && shape[0] % ph === 0 && shape[1] % pw === 0) return [maxPool(e.t, x, win, shape[2])];
      return [maxPoolWindows(e.t, x, win, shape[2])];
    },
  },
  AveragePooling2D: {
    infer: windowed('AveragePool'),
    train: ({ e, c, xs: [x], shapes: [shape], unsupported }) => {
      const [ph, pw] = c.poolSize as number[];
      const [sh, sw] = (c.strides as number[] | undefined) ?? [ph, pw];
      if (sh !== sw) throw unsupported(`average pooling with strides ${sh}x${sw} (square strides only)`);
      return [avgPool(e.t, x, windowOf(shape[0], shape[1], ph, pw, sh, c.padding as 'same' | 'valid'), shape[2])];
    },
  },
  GlobalAveragePooling2D: global('GlobalAveragePool', 'avg'),
  GlobalMaxPooling2D: global('GlobalMaxPool', 'max'),
};
