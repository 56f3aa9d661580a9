// Layers that join values: Add, Multiply, Concatenate (channels), InceptionResNetV2's scaled residual.
import { channelsFirstOperands, channelsLast, markChannelsFirst } from './channels-first.js';
import type { LayerRule } from './types.js';

const elementwise = (op: 'Add' | 'Mul'): LayerRule => ({
  infer: ({ g, layer, inputs }) => {
    let acc = inputs[0].name;
    for (const other of inputs.slice(1)) acc = g.op(op, [acc, other.name], {}, layer.name);
    return [{ name: acc, rank: Math.max(...inputs.map((i) => i.rank)) }];
  },
  // Broadcasting allowed, as Keras's; channels first where an operand is (squeeze-excite's scaling).
  channelsFirst: true,
  train: ({ e, xs, shapes }) => {
    const { g, t } = e;
    const cf = channelsFirstOperands(t, xs, shapes);
    const operands = cf?.operands ?? xs.map((x) => channelsLast(t, x));
    let y = operands[0];
    for (const x of operands.slice(1)) y = g.op(op, [y, x], {}, op === 'Add' ? 'add' : 'mul');
    return [cf ? markChannelsFirst(t, g.op('Reshape', [y, g.ints('shape', [cf.shape[2], -1])]), cf.shape) : y];
  },
});

export const mergeLayers: Record<string, LayerRule> = {
  Add: elementwise('Add'),
  Multiply: elementwise('Mul'),
  Concatenate: {
    infer: ({ g, layer, c, inputs }) => {
      const rank = inputs[0].rank;
      let axis = c.axis as number;
      if (axis < 0) axis += rank;
      // NHWC axis → NCHW axis.
      if (rank === 4) axis = [0, 2, 3, 1][axis];
      const names = inputs.map((i) => i.name);
      return [{ name: g.op('Concat', names, { axis }, layer.name), rank }];
    },
    train: ({ e, c, xs, shapes: [shape], unsupported }) => {
      const axis = c.axis as number;
      if (axis !== -1 && axis !== shape.length) throw unsupported('concatenation along an axis other than the last');
      return [e.g.op('Concat', xs, { axis: -1 }, 'concat')];
    },
  },
  // InceptionResNetV2's scaled residual: inputs[0] + inputs[1] · scale.
  CustomScaleLayer: {
    infer: ({ g, layer, c, inputs: [x, branch] }) => {
      const scaled = g.op('Mul', [branch.name, g.constant(`${layer.name}_scale`, [c.scale as number], [])], {}, layer.name);
      return [{ name: g.op('Add', [x.name, scaled], {}, layer.name), rank: x.rank }];
    },
    train: ({ e, layer, c, xs: [x, branch] }) => {
      const residual = e.g.op('Mul', [branch, e.g.constant(`${layer.name}_scale`, [c.scale as number], [])], {}, 'rescale');
      return [e.g.op('Add', [x, residual], {}, 'add')];
    },
  },
};
