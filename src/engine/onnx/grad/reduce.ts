// Gradients of ReduceSum, ReduceMean and ReduceMax (axes as attribute or input, keepdims, noop_with_empty_axes):
// the gradient broadcast back over the reduced axes (divided by their size for the mean; to every maximum for
// the max, ties included).
import { type GradRule, constInts, countOf, rankOf, shapeOf } from './context.js';
import { attr } from './shapes.js';

const reduce =
  (kind: 'sum' | 'mean' | 'max'): GradRule =>
  (c) => {
    const { g, node } = c;
    const x = node.inputs[0];
    const dy = c.dy() as string;
    const rank = rankOf(c, x);
    let axes = (node.inputs[1] ? constInts(c, 1) : attr<number[] | undefined>(node, 'axes', undefined)) ?? [];
    if (axes.length === 0) {
      if (attr(node, 'noop_with_empty_axes', 0) === 1) return [dy];
      axes = Array.from({ length: rank }, (_, i) => i);
    }
    axes = axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
    const keep = (v: string) => (attr(node, 'keepdims', 1) === 1 ? v : g.op('Unsqueeze', [v, g.ints('axes', axes)]));
    if (kind === 'max') {
      const mask = g.op('Cast', [g.op('Equal', [x, keep(node.outputs[0])])], { to: 1 });
      return [g.op('Mul', [mask, keep(dy)], {}, 'dreduce_max')];
    }
    const spread = kind === 'mean' ? g.op('Div', [keep(dy), countOf(c, x, axes)]) : keep(dy);
    return [g.op('Expand', [spread, shapeOf(g, x)], {}, `dreduce_${kind}`)];
  };

export const reduceRules: Record<string, GradRule> = { ReduceSum: reduce('sum'), ReduceMean: reduce('mean'), ReduceMax: reduce('max') };
