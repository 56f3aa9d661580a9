// Pooling layers: windowed max and average (square strides in training), and global pooling to [N, C].
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
  train: ({ e, xs: [x] }) => [e.g.op(kind === 'avg' ? 'ReduceMean' : 'ReduceMax', [x], { axes: [1, 2], keepdims: 0 }, `global_${kind}`)],
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
