// Gradients of ReduceSum and ReduceMean (axes as attribute or input, keepdims, noop_with_empty_axes): the
// gradient broadcast back over the reduced axes (and divided by their size for the mean).
import { type GradRule, constInts, countOf, rankOf, shapeOf } from './context.js';
import { attr } from './shapes.js';

const reduce =
  (mean: boolean): GradRule =>
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
    const kept = attr(node, 'keepdims', 1) === 1 ? dy : g.op('Unsqueeze', [dy, g.ints('axes', axes)]);
    const spread = mean ? g.op('Div', [kept, countOf(c, x, axes)]) : kept;
    return [g.op('Expand', [spread, shapeOf(g, x)], {}, mean ? 'dreduce_mean' : 'dreduce_sum')];
  };

export const reduceRules: Record<string, GradRule> = { ReduceSum: reduce(false), ReduceMean: reduce(true) };
