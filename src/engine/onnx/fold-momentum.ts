// SGD with momentum folded into the product that makes a weight's gradient: where the gradient is one 2-D Gemm
// (Aᵀ·B: convolutions' and Dense layers' dW; Xᵀ·dYᵀ or X·dY: the channels-first 1×1 convolutions') or a MatMul by
// a constant (conv-small.ts's tap sums), possibly
// reshaped, v' = m·v − lr·g is that product with −lr on its smaller operand and m·v as Gemm's C: one pass over
// the weight's size instead of four (g, lr·g, m·v, their difference).
import type { OptimizerSpec } from '../optimizers.js';
import { tensorInts } from './grad/dims.js';
import type { GraphBuilder } from './graph.js';
import type { AttributeValue, NodeValue } from './proto.js';
import type { StepWeight } from './step.js';
import { transposedOf } from './transposed-product.js';

const producer = (nodes: NodeValue[], value: string) => nodes.find((n) => n.outputs.includes(value));
const uses = (nodes: NodeValue[], value: string) => nodes.filter((n) => n.inputs.includes(value)).length;

/** The product making `grad` (through Reshapes used only there), with those nodes; null where none. */
function gradientProduct(nodes: NodeValue[], grad: string): { node: NodeValue; chain: NodeValue[] } | null {
  const chain: NodeValue[] = [];
  let node = producer(nodes, grad);
  // Used only along the chain: the gradient itself by nothing yet, each value before it by the next node.
  const once = () => (chain.length ? 1 : 0);
  while (node?.opType === 'Reshape' && uses(nodes, node.outputs[0]) === once()) {
    chain.push(node);
    node = producer(nodes, node.inputs[0]);
  }
  if (!node || uses(nodes, node.outputs[0]) !== once() || node.inputs.length !== 2) return null;
  return { node, chain: [...chain, node] };
}

/** The last dimension of `value` where a Reshape by a constant shape makes it (a Gemm operand's columns), else 0. */
function reshapedColumns(g: GraphBuilder, value: string): number {
  const node = producer(g.graph().nodes, value);
  const shape = node?.opType === 'Reshape' && g.graph().initializers.find((t) => t.name === node.inputs[1]);
  const ints = shape ? tensorInts(shape) : undefined;
  const last = ints?.[ints.length - 1];
  return typeof last === 'number' ? Math.max(0, last) : 0;
}

/** `value` (of `shape`) as `dims`: itself where they are the same (a Dense kernel). */
const asDims = (g: GraphBuilder, value: string, shape: number[], dims: number[]) =>
  shape.length === dims.length && shape.every((d, i) => d === dims[i]) ? value : g.op('Reshape', [value, g.ints('shape', dims)]);

/**
 * v' = m·v − lr·g as one Gemm where g is such a product (with its [M, N] shape where it is known when compiling),
 * or null; `slot` declares v once it is certain.
 */
function foldedMomentum(
  g: GraphBuilder,
  grad: string,
  slot: () => string,
  lr: string,
  momentum: number,
  shape: number[],
): { next: string; dims: number[] | null } | null {
  const nodes = g.graph().nodes;
  const found = gradientProduct(nodes, grad);
  if (!found) return null;
  const { node, chain } = found;
  const negLr = () => g.op('Neg', [lr]);
  const lastDim = shape[shape.length - 1];
  const size = shape.reduce((x, y) => x * y, 1);
  const [a, b] = node.inputs;
  const attrs = node.attributes;
  const { initializers } = g.graph();
  const constantA = initializers.some((t) => t.name === a && t.dims.length === 2);
  // Gemm takes 2-D operands only: B must be reshaped to 2-D (conv-small.ts's tap sums are).
  const reshapedB = producer(nodes, b);
  const flatB = reshapedB?.opType === 'Reshape' && initializers.some((t) => t.name === reshapedB.inputs[1] && t.dims[0] === 2);
  const at = (s: string, i: number) => g.op('Slice', [g.op('Shape', [s]), g.ints('starts', [i]), g.ints('ends', [i + 1]), g.ints('axes', [0])]);
  let dims: number[] | null = null;
  let scaled: [string, string];
  const [ta, tb] = [attrs.transA === 1, attrs.transB === 1];
  if (node.opType === 'Gemm' && attrs.alpha === undefined && attrs.beta === undefined) {
    // op(A)·op(B), op(A) [M, K], op(B) [K, N]: −lr on A where M < N (then K·M < the weight's M·N), else on B. [M, N]
    // as a constant where the weight's shape or a Reshape gives it (M as Aᵀ's columns, or as the columns of the A
    // productAtB transposed; N as B's): the Shape/Slice/Concat nodes cost a head-only step ~10% of its time.
    const source = ta ? a : transposedOf(nodes, a);
    const [m, n] = chain.length === 1 && shape.length === 2 ? [shape[0], shape[1]] : [source ? reshapedColumns(g, source) : 0, tb ? 0 : reshapedColumns(g, b)];
    if (m || n) dims = m ? [m, size / m] : [size / n, n];
    const rows = size / lastDim;
    scaled = rows < lastDim ? [g.op('Mul', [a, negLr()]), b] : [a, g.op('Mul', [b, negLr()])];
  } else if (node.opType === 'MatMul' && constantA && flatB) {
    const rows = initializers.find((t) => t.name === a)?.dims[0] ?? 0;
    dims = [rows, size / rows];
    scaled = [g.op('Mul', [a, negLr()]), b];
  } else return null;
  const v = slot();
  const attributes: Record<string, AttributeValue> = { beta: { float: momentum }, ...(ta ? { transA: 1 } : {}), ...(tb ? { transB: 1 } : {}) };
  const c = dims ? asDims(g, v, shape, dims) : g.op('Reshape', [v, g.op('Concat', [at(a, ta ? 1 : 0), at(b, tb ? 0 : 1)], { axis: 0 })]);
  const next = g.op('Gemm', [...scaled, c], attributes, 'momentum');
  g.drop(found.chain);
  return { next, dims };
}

/** SGD with momentum's update of `p` (as emitUpdate's) with v' folded into its gradient's product; false where it cannot. */
export function emitFoldedMomentum(g: GraphBuilder, p: StepWeight, grad: string, lr: string, opt: OptimizerSpec): boolean {
  if (opt.name !== 'sgd' || !opt.momentum) return false;
  let input = '';
  const folded = foldedMomentum(g, grad, () => (input = g.input(`${p.input}/momentum`, p.shape)), lr, opt.momentum, p.shape);
  if (!folded) return false;
  const { next, dims } = folded;
  if (dims) {
    // The Gemm's own [M, N] output is the new slot, and the weight's update is in that shape too: a Reshape
    // giving a step's output back in the weight's shape was a copy (~7% of VGG16 block5's step).
    p.output = g.op('Add', [asDims(g, p.input, p.shape, dims), next], {}, `${p.input}/new`);
    p.outputShape = dims;
    p.slots.push({ input, output: next });
    return true;
  }
  const velocity = g.op('Reshape', [next, g.ints('shape', p.shape)], {}, `${p.input}/momentum/new`);
  p.output = g.op('Add', [p.input, velocity], {}, `${p.input}/new`);
  p.slots.push({ input, output: velocity });
  return true;
}
