// One rule per ONNX op type for the token-liveness pass (prune-tokens.ts): given the selection wanted of a node's
// output, the selection it needs of each input (or the whole input, or nothing where the rewritten node reads a
// new constant instead) — undefined where the op mixes the selected positions with others.
import type { Dim, NodeValue } from '../proto.js';
import { attr, normAxis } from './dims.js';
import { shapeCall } from './shape-rule.js';
import { type Selection, mapLayout, reshapeTarget, selectedDims } from './token-selection.js';
import { sliceOf } from './window-shapes.js';

export interface TokenCall {
  node: NodeValue;
  /** The selection wanted of output 0. */
  sel: Selection;
  dims(v: string): Dim[] | undefined;
  ints(v: string): Dim[] | undefined;
  opset: number;
}

export type Demand = Selection | 'whole' | 'none';
export interface TokenPlan {
  inputs: Demand[];
  /** Inputs replaced by int64 constants in the rewritten node (a Reshape's target). */
  constants?: Record<number, number[]>;
}
export type TokenRule = (c: TokenCall) => TokenPlan | undefined;

const outDims = (c: TokenCall) => c.dims(c.node.outputs[0]);

/** An input broadcast against the output: selected on its matching axis, whole where it has none or size 1. */
function broadcastDemand(c: TokenCall, v: string): Demand | undefined {
  const [out, dims] = [outDims(c), c.dims(v)];
  if (!v) return 'none';
  if (!out || !dims) return undefined;
  const axis = c.sel.axis - (out.length - dims.length);
  if (axis < 0 || dims[axis] === 1) return 'whole';
  return dims[axis] === out[c.sel.axis] ? { ...c.sel, axis } : undefined;
}

/** Every input broadcast against the output (elementwise ops). */
const elementwise: TokenRule = (c) => {
  const inputs = c.node.inputs.map((v) => broadcastDemand(c, v));
  return inputs.every(Boolean) ? { inputs: inputs as Demand[] } : undefined;
};

/** The first input selected on the same axis, the others whole: where `keeps(axis, rank)` says the op keeps it per position. */
const perPosition =
  (keeps: (c: TokenCall, rank: number) => boolean): TokenRule =>
  (c) => {
    const rank = outDims(c)?.length;
    if (rank === undefined || !keeps(c, rank)) return undefined;
    return { inputs: c.node.inputs.map((v, i) => (i === 0 ? c.sel : v ? 'whole' : 'none')) };
  };

/** Softmax over another axis (before opset 13, over the axes from `axis` on, coerced to 2-D). */
const softmax = perPosition((c, rank) => {
  const axis = normAxis(attr(c.node, 'axis', c.opset >= 13 ? -1 : 1), rank);
  return c.opset >= 13 ? c.sel.axis !== axis : c.sel.axis < axis;
});
const layerNorm = perPosition((c, rank) => c.sel.axis < normAxis(attr(c.node, 'axis', -1), rank));

/** A reduction over other axes: the axis index moves down past reduced axes when they are dropped. */
const reduce: TokenRule = (c) => {
  const rank = c.dims(c.node.inputs[0])?.length;
  const axes = shapeCall(c.node, (v) => ({ type: 1, dims: c.dims(v), ints: c.ints(v) })).axesOf();
  if (rank === undefined || !axes?.length) return undefined;
  const reduced = new Set(axes.map((a) => normAxis(a, rank)));
  const kept = Array.from({ length: rank }, (_, i) => i).filter((i) => attr(c.node, 'keepdims', 1) || !reduced.has(i));
  const axis = kept[c.sel.axis];
  if (reduced.has(axis)) return undefined;
  return { inputs: c.node.inputs.map((v, i) => (i === 0 ? { ...c.sel, axis } : v ? 'whole' : 'none')) };
};

/** MatMul: rows select A's rows, columns B's columns, batch axes both (where not broadcast). */
const matmul: TokenRule = (c) => {
  const [a, b] = c.node.inputs.map((v) => c.dims(v));
  const r = outDims(c)?.length;
  if (!a || !b || r === undefined || a.length < 2 || b.length < 2) return undefined;
  if (c.sel.axis === r - 2) return { inputs: [{ ...c.sel, axis: a.length - 2 }, 'whole'] };
  if (c.sel.axis === r - 1) return { inputs: ['whole', { ...c.sel, axis: b.length - 1 }] };
  const inputs = c.node.inputs.map((v) => broadcastDemand(c, v));
  return inputs.every(Boolean) ? { inputs: inputs as Demand[] } : undefined;
};

/** Gemm: rows from A (and a C with rows), columns from B (and C's last axis where it has them). */
const gemm: TokenRule = (c) => {
  const [, , bias] = c.node.inputs;
  const cDims = bias ? c.dims(bias) : undefined;
  const out = outDims(c);
  if (!out || (bias && !cDims)) return undefined;
  const rows = c.sel.axis === 0;
  const ta = attr(c.node, 'transA', 0);
  const tb = attr(c.node, 'transB', 0);
  const cAxis = cDims ? cDims.length - (rows ? 2 : 1) : -1;
  const cDemand: Demand = !bias ? 'none' : cAxis >= 0 && cDims?.[cAxis] === out[c.sel.axis] ? { ...c.sel, axis: cAxis } : 'whole';
  const inputs: Demand[] = rows ? [{ ...c.sel, axis: ta ? 1 : 0 }, 'whole', cDemand] : ['whole', { ...c.sel, axis: tb ? 0 : 1 }, cDemand];
  return { inputs: inputs.slice(0, c.node.inputs.length) };
};

const transpose: TokenRule = (c) => {
  const rank = outDims(c)?.length ?? 0;
  const perm = attr(
    c.node,
    'perm',
    Array.from({ length: rank }, (_, i) => rank - 1 - i),
  );
  return { inputs: [{ ...c.sel, axis: perm[c.sel.axis] }] };
};

/** Ops that keep the flat order (Reshape, Flatten, Squeeze, Unsqueeze); a Reshape's target becomes a constant. */
const layout: TokenRule = (c) => {
  const [x, shape] = c.node.inputs;
  const [from, out] = [c.dims(x), outDims(c)];
  const sel = from && out ? mapLayout(c.sel, out, from) : undefined;
  if (!sel || !out) return undefined;
  // A Squeeze without axes would drop a selected axis of size 1.
  if (c.node.opType === 'Squeeze' && !shape && !c.node.attributes.axes) return undefined;
  if (c.node.opType !== 'Reshape') return { inputs: c.node.inputs.map((v, i) => (i === 0 ? sel : v ? 'whole' : 'none')) };
  const target = reshapeTarget(selectedDims(c.sel, out));
  return target ? { inputs: [sel, 'none'], constants: { 1: target } } : undefined;
};

/** Gather and Slice along other axes: the indices and bounds are read as they are. */
const gather: TokenRule = (c) => {
  const [data, idx] = [c.dims(c.node.inputs[0]), c.dims(c.node.inputs[1])];
  if (!data || !idx) return undefined;
  const axis = normAxis(attr(c.node, 'axis', 0), data.length);
  if (c.sel.axis >= axis && c.sel.axis < axis + idx.length) return undefined;
  return { inputs: [{ ...c.sel, axis: c.sel.axis < axis ? c.sel.axis : c.sel.axis - idx.length + 1 }, 'whole'] };
};
const slice: TokenRule = (c) => {
  const dims = c.dims(c.node.inputs[0]);
  const parts = dims ? sliceOf(c.node, dims, (i) => (c.node.inputs[i] ? c.ints(c.node.inputs[i]) : undefined)) : undefined;
  const cut = parts?.find((p) => p.axis === c.sel.axis);
  if (!parts || (cut && !(cut.step === 1 && cut.start === 0 && cut.size === dims?.[cut.axis]))) return undefined;
  return { inputs: c.node.inputs.map((v, i) => (i === 0 ? c.sel : v ? 'whole' : 'none')) };
};

/** Concat along another axis: each part selected alike. */
const concat: TokenRule = (c) => {
  const rank = outDims(c)?.length ?? 0;
  if (normAxis(attr(c.node, 'axis', 0), rank) === c.sel.axis) return undefined;
  return { inputs: c.node.inputs.map(() => c.sel) };
};

const ELEMENTWISE = [
  ...['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Where', 'PRelu', 'Clip', 'Equal', 'Less', 'Greater', 'And', 'Or'],
  ...['Identity', 'Cast', 'Neg', 'Abs', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Erf', 'Tanh', 'Sigmoid', 'Relu', 'Gelu', 'IsNaN', 'Not'],
  ...['LeakyRelu', 'Elu', 'Selu', 'Softplus', 'Softsign', 'HardSigmoid', 'HardSwish', 'Mish'],
];
const REDUCTIONS = ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceL2', 'ReduceSumSquare'];

export const TOKEN_RULES: Readonly<Record<string, TokenRule>> = {
  ...Object.fromEntries(ELEMENTWISE.map((op) => [op, elementwise])),
  ...Object.fromEntries(REDUCTIONS.map((op) => [op, reduce])),
  ...Object.fromEntries(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'].map((op) => [op, layout])),
  Softmax: softmax,
  LogSoftmax: softmax,
  LayerNormalization: layerNorm,
  MatMul: matmul,
  Gemm: gemm,
  Transpose: transpose,
  Gather: gather,
  Slice: slice,
  Concat: concat,
};
