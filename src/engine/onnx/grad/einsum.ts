// Gradient of Einsum: each operand's gradient is another Einsum, of dY with the other operands, onto the
// operand's own indices (ONNX Runtime's Einsum kernel runs it). Indices only that operand sums over are spread
// back by Expand; repeated indices within one operand (diagonals) are refused.
import type { Dim } from '../proto.js';
import { type GradRule, dimsOf, shapeOf, unbroadcast, unsupported } from './context.js';
import { einsumTerms } from './einsum-equation.js';
import { attr } from './dims.js';

const einsum: GradRule = (c) => {
  const { g, node } = c;
  const dims = node.inputs.map((v) => dimsOf(c, v));
  const terms = einsumTerms(
    attr(node, 'equation', ''),
    dims.map((d) => d?.length),
  );
  if (!terms) throw unsupported(node, "the ranks of operands under '...' must be known");
  const size = new Map<string, Dim>();
  terms.inputs.forEach((t, i) =>
    [...t].forEach((ch, k) => size.set(ch, size.get(ch) === undefined || size.get(ch) === 1 ? (dims[i] as Dim[])[k] : (size.get(ch) as Dim))),
  );
  const dy = c.dy() as string;
  return node.inputs.map((x, i) => {
    if (!c.wants(i)) return undefined;
    const term = terms.inputs[i];
    if (new Set(term).size !== term.length) throw unsupported(node, `operand ${i} ('${term}') repeats an index (a diagonal)`);
    const others = terms.inputs.filter((_, k) => k !== i);
    const reached = [...term].filter((ch) => terms.output.includes(ch) || others.some((t) => t.includes(ch))).join('');
    const equation = `${[terms.output, ...others].join(',')}->${reached}`;
    let grad = g.op('Einsum', [dy, ...node.inputs.filter((_, k) => k !== i)], { equation }, 'deinsum');
    if (reached !== term) {
      // Indices summed within this operand alone: every element got the same gradient.
      const missing = [...term].flatMap((ch, k) => (reached.includes(ch) ? [] : [k]));
      grad = g.op('Expand', [g.op('Unsqueeze', [grad, g.ints('axes', missing)]), shapeOf(g, x)], {}, 'deinsum');
    }
    return unbroadcast(
      c,
      grad,
      [...term].map((ch) => size.get(ch) as Dim),
      x,
    );
  });
};

export const einsumRules: Record<string, GradRule> = { Einsum: einsum };
