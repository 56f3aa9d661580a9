// The embedding heads' layers (src/heads/): UnitNormalization, which trains through the per-op rules, and the
// k-NN vote, which is fitted rather than trained.
import type { LayerRule } from './types.js';

export const embeddingLayers: Record<string, LayerRule> = {
  // x / max(‖x‖₂, 1e-6) over the channels.
  UnitNormalization: {
    infer: ({ g, layer, inputs: [x] }) => {
      const norm = g.op('ReduceL2', [x.name], { axes: [x.rank === 4 ? 1 : -1], keepdims: 1 });
      const floor = g.op('Max', [norm, g.constant(`${layer.name}_eps`, [1e-6], [])]);
      return [{ name: g.op('Div', [x.name, floor], {}, layer.name), rank: x.rank }];
    },
    train: ({ e: { g }, layer, xs: [x] }) => {
      const norm = g.op('ReduceL2', [x], { axes: [-1], keepdims: 1 });
      return [g.op('Div', [x, g.op('Max', [norm, g.constant(`${layer.name}_eps`, [1e-6], [])])], {}, 'unit_norm')];
    },
  },
  NeighbourVote: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      // The k largest similarities (and ties with the k-th) vote, weighted 1 + 0.001·similarity; see the layer.
      const labels = c.labels as number[];
      const classes = c.classes as number;
      const k = Math.min(c.k as number, labels.length);
      const [top] = g.ops('TopK', [x.name, g.ints(`${layer.name}_k`, [k])], 2, { axis: -1 });
      const kth = g.op('Slice', [top, g.ints(`${layer.name}_from`, [k - 1]), g.ints(`${layer.name}_to`, [k]), g.ints(`${layer.name}_axis`, [1])]);
      const mask = g.op('Cast', [g.op('GreaterOrEqual', [x.name, kth])], { to: 1 });
      const weight = g.op('Add', [g.op('Mul', [x.name, g.constant(`${layer.name}_tie`, [0.001], [])]), g.constant(`${layer.name}_one`, [1], [])]);
      const oneHot = new Float32Array(labels.length * classes);
      labels.forEach((l, i) => {
        oneHot[i * classes + l] = 1;
      });
      const votes = g.op('MatMul', [g.op('Mul', [mask, weight]), g.constant(`${layer.name}_labels`, oneHot, [labels.length, classes])]);
      const total = g.op('ReduceSum', [votes, g.ints(`${layer.name}_sum_axis`, [1])], { keepdims: 1 });
      return [{ name: g.op('Div', [votes, total], {}, layer.name), rank: 2 }];
    },
    refuse: "a k-NN vote has no useful gradient; the embedding heads fit it (transferkit's 'knn' head) instead of training it",
  },
};
