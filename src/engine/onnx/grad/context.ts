// What a gradient rule sees (its node, the gradients of its outputs, static facts) and the small graph pieces
// rules share: reductions over broadcast axes, zeros, dims read statically or at run time.
import type { GraphBuilder } from '../graph.js';
import type { Dim, NodeValue } from '../proto.js';
import { type ValueFacts, isUnknown } from './dims.js';

export interface GradContext {
  g: GraphBuilder;
  node: NodeValue;
  /** The gradient flowing into output `i` (default 0), if anything downstream needs it. */
  dy(i?: number): string | undefined;
  /** Whether input `i` needs a gradient. */
  wants(i: number): boolean;
  facts(value: string): ValueFacts | undefined;
}

/** Returns the gradient of each input (undefined where there is none or it is not wanted). */
export type GradRule = (c: GradContext) => Array<string | undefined>;

export class GradError extends Error {}

/** An error naming the node a rule cannot handle and why. */
export const unsupported = (node: NodeValue, why: string) => new GradError(`no gradient for ${node.opType} node '${node.name}': ${why}`);

export function dimsOf(c: GradContext, value: string): Dim[] | undefined {
  return c.facts(value)?.dims;
}

/** The rank of a value, which most rules need statically. */
export function rankOf(c: GradContext, value: string): number {
  const d = dimsOf(c, value);
  if (!d) throw unsupported(c.node, `the rank of '${value}' is unknown (give the graph's inputs their ranks)`);
  return d.length;
}

/** Static dims of a value from axis `from` on (earlier ones, the batch, read −1), or an error saying which are needed. */
export function staticDims(c: GradContext, value: string, what: string, from = 0): number[] {
  const d = dimsOf(c, value);
  if (!d || d.slice(from).some((x) => typeof x !== 'number')) throw unsupported(c.node, `${what} of '${value}' must be static (it is ${JSON.stringify(d)})`);
  return d.map((x, i) => (i < from ? -1 : (x as number)));
}

/** A constant integer input (axes, pads, shape), or undefined where it is absent; an error when it is computed. */
export function constInts(c: GradContext, i: number): number[] | undefined {
  const v = c.node.inputs[i];
  if (!v) return undefined;
  const ints = c.facts(v)?.ints;
  if (!ints || ints.some((d) => typeof d !== 'number')) throw unsupported(c.node, `input ${i} ('${v}') must be a constant`);
  return ints as number[];
}

export const scalar = (g: GraphBuilder, value: number, name = 'c'): string => g.constant(name, [value], []);

export const shapeOf = (g: GraphBuilder, value: string): string => g.op('Shape', [value], {}, 'shape');

/** Zeros of `value`'s shape. */
export const zerosLike = (g: GraphBuilder, value: string): string => g.op('Expand', [scalar(g, 0, 'zero'), shapeOf(g, value)], {}, 'zeros');

/** Size of `value` along `axis`, as an int64 [1] tensor: a constant where static. */
export function dimTensor(c: GradContext, value: string, axis: number): string {
  const d = dimsOf(c, value)?.[axis];
  if (typeof d === 'number') return c.g.ints('dim', [d]);
  return c.g.op('Gather', [shapeOf(c.g, value), c.g.ints('axis', [axis])], { axis: 0 }, 'dim');
}

/** The number of elements of `value` over `axes`, as a float scalar: a constant where static. */
export function countOf(c: GradContext, value: string, axes: number[]): string {
  const d = dimsOf(c, value);
  const picked = axes.map((a) => d?.[a]);
  if (picked.every((x) => typeof x === 'number'))
    return scalar(
      c.g,
      (picked as number[]).reduce((a, b) => a * b, 1),
      'count',
    );
  const sizes = c.g.op('Gather', [shapeOf(c.g, value), c.g.ints('axes', axes)], { axis: 0 });
  return c.g.op('Cast', [c.g.op('ReduceProd', [sizes], { keepdims: 0 })], { to: 1 }, 'count');
}

export const reduceSum = (g: GraphBuilder, x: string, axes: number[], keepdims: 0 | 1, hint = 'sum'): string =>
  g.op('ReduceSum', [x, g.ints('axes', axes)], { keepdims }, hint);

/**
 * Sums `grad` (the gradient of a broadcast result) down to the shape of `target`: over leading axes and over
 * axes where `target` has size 1. Static where the shapes tell; otherwise the axes are computed at run time.
 */
export function unbroadcast(c: GradContext, grad: string, gradDims: Dim[] | undefined, target: string): string {
  const { g } = c;
  const t = dimsOf(c, target);
  if (gradDims && t) {
    const lead = gradDims.length - t.length;
    const axes: number[] = [];
    let known = lead >= 0;
    for (let i = 0; i < gradDims.length && known; i++) {
      const k = i - lead;
      if (k < 0) axes.push(i);
      else if (t[k] === 1 && gradDims[i] !== 1) axes.push(i);
      else if (t[k] !== gradDims[i] && (isUnknown(t[k]) || isUnknown(gradDims[i]) || typeof t[k] !== 'number' || typeof gradDims[i] !== 'number'))
        known = false;
    }
    if (known) {
      if (axes.length === 0) return grad;
      // Only leading axes (a bias over a batch): the sum without them is the target's shape already.
      if (axes.every((a) => a < lead)) return reduceSum(g, grad, axes, 0, 'unbroadcast');
      const summed = reduceSum(g, grad, axes, 1, 'unbroadcast');
      const shape = t.every((d) => typeof d === 'number') ? g.ints('shape', t as number[]) : shapeOf(g, target);
      return g.op('Reshape', [summed, shape], {}, 'unbroadcast');
    }
  }
  // Run time: pad the target's shape with leading ones, sum where it is 1 and the gradient's is not.
  const gShape = shapeOf(g, grad);
  const tShape = shapeOf(g, target);
  const gRank = g.op('Shape', [gShape]);
  const lead = g.op('Sub', [gRank, g.op('Shape', [tShape])]);
  const padded = g.op('Concat', [g.op('Expand', [g.ints('one', [1]), lead]), tShape], { axis: 0 });
  const reduce = g.op('And', [g.op('Equal', [padded, g.ints('one', [1])]), g.op('Greater', [gShape, g.ints('one', [1])])]);
  const axes = g.op('Reshape', [g.op('NonZero', [reduce]), g.ints('flat', [-1])]);
  const summed = g.op('ReduceSum', [grad, axes], { keepdims: 1, noop_with_empty_axes: 1 }, 'unbroadcast');
  return g.op('Reshape', [summed, tShape], {}, 'unbroadcast');
}

/** The gradient of an elementwise op's input `i`, reduced to that input's shape. */
export const toInput = (c: GradContext, grad: string, i: number): string => unbroadcast(c, grad, dimsOf(c, c.node.outputs[0]), c.node.inputs[i]);
