// Layers that move elements: Flatten and Reshape (in Keras's channels-last element order), padding and cropping
// of height and width.
import { toNchw, toNhwc } from './nchw.js';
import type { LayerRule } from './types.js';

export const reshapeLayers: Record<string, LayerRule> = {
  Flatten: {
    infer: ({ g, layer, inputs: [x] }) => [{ name: g.op('Flatten', [toNhwc(g, x).name], { axis: 1 }, layer.name), rank: 2 }],
    train: ({ e, xs: [x] }) => [e.g.op('Flatten', [x], { axis: 1 })],
  },
  Reshape: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      const target = c.targetShape as number[];
      const y = { name: g.op('Reshape', [toNhwc(g, x).name, g.ints(`${layer.name}_shape`, [-1, ...target])], {}, layer.name), rank: target.length + 1 };
      return [toNchw(g, y)];
    },
    train: ({ e, c, xs: [x] }) => [e.g.op('Reshape', [x, e.g.ints('shape', [-1, ...(c.targetShape as number[])])], {}, 'reshape')],
  },
  ZeroPadding2D: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      const [[t, b], [l, r]] = c.padding as number[][];
      return [{ name: g.op('Pad', [x.name, g.ints(`${layer.name}_pads`, [0, 0, t, l, 0, 0, b, r])], { mode: 'constant' }, layer.name), rank: 4 }];
    },
    train: ({ e, c, xs: [x] }) => {
      const [[top, bottom], [left, right]] = c.padding as number[][];
      return [e.g.op('Pad', [x, e.g.ints('pads', [0, top, left, 0, 0, bottom, right, 0])], { mode: 'constant' }, 'zero_pad')];
    },
  },
  Cropping2D: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      // Slice of height and width (NCHW axes 2 and 3); ends counted from the back.
      const [[t, b], [l, r]] = c.cropping as number[][];
      const starts = g.ints(`${layer.name}_starts`, [t, l]);
      const ends = g.ints(`${layer.name}_ends`, [-b || Number.MAX_SAFE_INTEGER, -r || Number.MAX_SAFE_INTEGER]);
      return [{ name: g.op('Slice', [x.name, starts, ends, g.ints(`${layer.name}_axes`, [2, 3])], {}, layer.name), rank: 4 }];
    },
    train: ({ e: { g }, c, xs: [x], shapes: [[h, w]] }) => {
      const [[top, bottom], [left, right]] = c.cropping as number[][];
      return [g.op('Slice', [x, g.ints('starts', [top, left]), g.ints('ends', [h - bottom, w - right]), g.ints('axes', [1, 2])], {}, 'crop')];
    },
  },
};
