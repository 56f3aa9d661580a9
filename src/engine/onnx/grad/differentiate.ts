// Reverse-mode differentiation of a forward ONNX graph, op by op: backward nodes for exactly the nodes on a path
// from a wanted value to the loss, gradients of values used several times summed.
import type { GraphBuilder } from '../graph.js';
import type { GraphValue } from '../proto.js';
import { type GradContext, GradError } from './context.js';
import { GRADIENT_RULES, NO_GRADIENT } from './rules.js';
import { Elem, type ValueFacts } from './dims.js';
import { inferShapes } from './shapes.js';

export interface DifferentiateOptions {
  /** A scalar loss value (seeded with 1), or any value with the name of its gradient (same shape). */
  loss: string | { value: string; seed: string };
  /** The values to differentiate with respect to: initializers, graph inputs. */
  wrt: string[];
  /** Facts about the values, when the caller has inferred them already. */
  facts?: Map<string, ValueFacts>;
  /**
   * Fused gradients (a graph rewrite of the rules): value → its backward from `inputs`, used instead of the rules
   * of the nodes between them (an im2col convolution's fast input and weight gradients, say).
   */
  fused?: Map<string, FusedGradient>;
}

export interface FusedGradient {
  inputs: string[];
  /** The gradient of each input from the value's gradient `dy`; `wants(i)` tells which are needed. */
  backward(dy: string, wants: (i: number) => boolean): Array<string | undefined>;
}

const FLOATS: Set<number> = new Set([Elem.FLOAT, Elem.DOUBLE, 10, 16]);

/**
 * Emits into `g` (which already holds `forward`'s nodes, e.g. by `g.adopt(forward)`) the backward pass of
 * `forward`, and returns the gradient of each wanted value that the loss depends on.
 */
export function differentiate(g: GraphBuilder, forward: GraphValue, options: DifferentiateOptions): Map<string, string> {
  const facts = options.facts ?? inferShapes(forward);
  const isFloat = (v: string) => FLOATS.has(facts.get(v)?.type ?? Elem.FLOAT);
  const lossValue = typeof options.loss === 'string' ? options.loss : options.loss.value;

  // Values that depend (differentiably) on a wanted value, then those of them the loss depends on.
  const depends = new Set(options.wrt);
  for (const node of forward.nodes) {
    if (NO_GRADIENT.has(node.opType) || !node.inputs.some((v) => depends.has(v))) continue;
    for (const o of node.outputs) if (o && isFloat(o)) depends.add(o);
  }
  const needed = new Set(depends.has(lossValue) ? [lossValue] : []);
  for (let k = forward.nodes.length - 1; k >= 0; k--) {
    const node = forward.nodes[k];
    if (NO_GRADIENT.has(node.opType) || !node.outputs.some((o) => needed.has(o))) continue;
    for (const v of node.inputs) if (depends.has(v)) needed.add(v);
  }

  const parts = new Map<string, string[]>();
  const add = (v: string, grad: string) => parts.set(v, [...(parts.get(v) ?? []), grad]);
  const total = (v: string): string | undefined => {
    const list = parts.get(v);
    if (!list || list.length < 2) return list?.[0];
    const sum = g.op(list.length === 2 ? 'Add' : 'Sum', list, {}, 'grad_sum');
    parts.set(v, [sum]);
    return sum;
  };
  if (needed.has(lossValue)) {
    add(lossValue, typeof options.loss === 'string' ? g.op('Expand', [g.constant('one', [1], []), g.op('Shape', [lossValue])], {}, 'seed') : options.loss.seed);
  }

  for (let k = forward.nodes.length - 1; k >= 0; k--) {
    const node = forward.nodes[k];
    if (!node.inputs.some((v) => v && needed.has(v)) || !node.outputs.some((o) => parts.has(o))) continue;
    const fused = options.fused?.get(node.outputs[0]);
    if (fused) {
      const wants = (i: number) => needed.has(fused.inputs[i]);
      const grads = fused.backward(total(node.outputs[0]) as string, wants);
      fused.inputs.forEach((v, i) => {
        const grad = grads[i];
        if (grad && wants(i)) add(v, grad);
      });
      continue;
    }
    const rule = GRADIENT_RULES[node.opType];
    if (!rule)
      throw new GradError(`no gradient rule for ONNX op ${node.opType} (node '${node.name}'); covered: ${Object.keys(GRADIENT_RULES).sort().join(', ')}`);
    const context: GradContext = {
      g,
      node,
      dy: (i = 0) => (node.outputs[i] ? total(node.outputs[i]) : undefined),
      wants: (i) => !!node.inputs[i] && needed.has(node.inputs[i]),
      facts: (v) => facts.get(v),
    };
    const grads = rule(context);
    node.inputs.forEach((v, i) => {
      const grad = grads[i];
      if (grad && context.wants(i)) add(v, grad);
    });
  }

  const out = new Map<string, string>();
  for (const w of options.wrt) {
    const grad = total(w);
    if (grad) out.set(w, grad);
  }
  return out;
}
