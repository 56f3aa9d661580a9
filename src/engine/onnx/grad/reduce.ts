// Gradients of ReduceSum, ReduceMean, ReduceMax/ReduceMin, ReduceL2 and ReduceSumSquare (axes as attribute or
// input, keepdims, noop_with_empty_axes): the gradient broadcast back over the reduced axes (divided by their
// size for the mean; to every extremum for max/min, ties included; times x/‖x‖ for the L2 norm, 0 where the
// norm is 0 as in PyTorch; times 2x for the sum of squares).
import { type GradRule, constInts, countOf, rankOf, scalar, shapeOf } from './context.js';
import { attr } from './dims.js';

type Kind = 'sum' | 'mean' | 'extremum' | 'l2' | 'sumsquare';

const reduce =
  (kind: Kind): GradRule =>
  (c) => {
    const { g, node } = c;
    const x = node.inputs[0];
    const dy = c.dy() as string;
    const rank = rankOf(c, x);
    let axes = (node.inputs[1] ? constInts(c, 1) : attr<number[] | undefined>(node, 'axes', undefined)) ?? [];
    if (axes.length === 0) {
      if (attr(node, 'noop_with_empty_axes', 0) === 1) return [reduceNothing(c, kind, dy)];
      axes = Array.from({ length: rank }, (_, i) => i);
    }
    axes = axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
    const keep = (v: string) => (attr(node, 'keepdims', 1) === 1 ? v : g.op('Unsqueeze', [v, g.ints('axes', axes)]));
    const y = node.outputs[0];
    switch (kind) {
      case 'extremum': {
        const mask = g.op('Cast', [g.op('Equal', [x, keep(y)])], { to: 1 });
        return [g.op('Mul', [mask, keep(dy)], {}, 'dreduce_extremum')];
      }
      case 'l2': {
        const zero = scalar(g, 0, 'zero');
        const perNorm = g.op('Where', [g.op('Equal', [y, zero]), zero, g.op('Div', [dy, y])]);
        return [g.op('Mul', [x, keep(perNorm)], {}, 'dreduce_l2')];
      }
      case 'sumsquare':
        return [g.op('Mul', [g.op('Mul', [x, scalar(g, 2, 'two')]), keep(dy)], {}, 'dreduce_sumsquare')];
      default: {
        const spread = kind === 'mean' ? g.op('Div', [keep(dy), countOf(c, x, axes)]) : keep(dy);
        return [g.op('Expand', [spread, shapeOf(g, x)], {}, `dreduce_${kind}`)];
      }
    }
  };

/** With noop_with_empty_axes and no axes the op is elementwise: the identity, |x| or x². */
function reduceNothing(c: Parameters<GradRule>[0], kind: Kind, dy: string): string {
  const x = c.node.inputs[0];
  if (kind === 'l2') return c.g.op('Mul', [dy, c.g.op('Sign', [x])]);
  if (kind === 'sumsquare') return c.g.op('Mul', [dy, c.g.op('Mul', [x, scalar(c.g, 2, 'two')])]);
  return dy;
}

export const reduceRules: Record<string, GradRule> = {
  ReduceSum: reduce('sum'),
  ReduceMean: reduce('mean'),
  ReduceMax: reduce('extremum'),
  ReduceMin: reduce('extremum'),
  ReduceL2: reduce('l2'),
  ReduceSumSquare: reduce('sumsquare'),
};
