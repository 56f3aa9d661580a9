// K training steps in one ONNX Runtime run (Keras's steps_per_execution): onnxruntime-node copies every output
// into a fresh buffer on every run, and a step outputs every updated weight and optimizer slot (12–41% of the
// zoo's steps). Chaining K copies of the step in one graph pays that copy once per K steps.
import { TransferkitError } from '../../errors.js';
import { decodeModel } from './decode.js';
import { DataType, type Dim, type ModelValue, type NodeValue, type ValueInfo, encodeModelValue, int64Raw } from './proto.js';
import type { StepGraph, StepWeight } from './step.js';

/** One copy's names in an unrolled step: its own inputs (by the one-step names) and what it gives back. */
export interface StepCopy {
  /** One-step input name → this copy's input name (every input but the weights and slots). */
  inputs: Map<string, string>;
  loss: string;
  output: string;
}

/** A K-step graph: copy i starts from copy i−1's updated weights and slots; the last copy's are the outputs. */
export interface UnrolledStep {
  onnx: Uint8Array;
  copies: StepCopy[];
  /** Per trained weight (in the step's order): the final weight's and slots' output names. */
  params: Array<{ output: string; slots: string[] }>;
}

const prefix = (i: number) => `s${i}/`;

/** Each copy gets its own batch dim (a smaller last batch can sit in a group): symbolic dims renamed per copy. */
const copyDims = (dims: Dim[] | undefined, i: number): Dim[] | undefined => dims?.map((d) => (typeof d === 'string' ? `${d}_s${i}` : d));

const reshape = (out: string, value: string, shape: string): NodeValue => ({
  opType: 'Reshape',
  name: out,
  inputs: [value, shape],
  outputs: [out],
  attributes: {},
});

/** The K-step graph of a compiled one-step `step` (initializers shared, nodes copied K times). */
export function unrollStep(step: StepGraph & { params: StepWeight[] }, k: number): UnrolledStep {
  const model = decodeModel(step.onnx);
  const g = model.graph;
  // Subgraphs (If/Loop bodies) read outer names that this renaming does not reach.
  const sub = g.nodes.find((n) => Object.values(n.attributes).some((a) => typeof a === 'object' && 'graph' in a));
  if (sub) throw new TransferkitError(`steps per execution above 1 cannot chain a step with a subgraph (${sub.opType} node ${sub.name}); use 1`);
  const initializers = new Set(g.initializers.map((t) => t.name));
  // Weight/slot input → its updated output: what the next copy reads in its place.
  const next = new Map<string, string>();
  // Updates that come out in another shape than they go in (fold-momentum's [M, N] Gemm outputs): reshaped between copies.
  const reshaped = new Map<string, number[]>();
  for (const p of step.params) {
    next.set(p.input, p.output);
    for (const s of p.slots) next.set(s.input, s.output);
    if (p.outputShape) for (const v of [p.input, ...p.slots.map((s) => s.input)]) reshaped.set(v, p.shape);
  }
  const perCopy = g.inputs.filter((v) => !next.has(v.name) && !initializers.has(v.name));
  const ref = (i: number, name: string): string => {
    if (name === '' || (initializers.has(name) && !next.has(name))) return name;
    const updated = next.get(name);
    if (updated !== undefined) return i === 0 ? name : reshaped.has(name) ? prefix(i) + name : ref(i - 1, updated);
    return prefix(i) + name;
  };
  const nodes: NodeValue[] = [];
  const inputs: ValueInfo[] = g.inputs.filter((v) => next.has(v.name));
  const outputs: ValueInfo[] = [];
  const valueInfo: ValueInfo[] = [];
  const copies: StepCopy[] = [];
  const outputDims = new Map(g.outputs.map((o) => [o.name, o.dims]));
  const shapes = [...reshaped].map(([v, dims]) => ({ name: `${v}/unrolled_shape`, dims: [dims.length], dataType: DataType.INT64, raw: int64Raw(dims) }));
  for (let i = 0; i < k; i++) {
    if (i > 0) for (const [v] of reshaped) nodes.push(reshape(prefix(i) + v, ref(i - 1, next.get(v) as string), `${v}/unrolled_shape`));
    for (const n of g.nodes)
      nodes.push({ ...n, name: prefix(i) + n.name, inputs: n.inputs.map((v) => ref(i, v)), outputs: n.outputs.map((v) => (v === '' ? v : prefix(i) + v)) });
    for (const v of perCopy) inputs.push({ ...v, name: prefix(i) + v.name, dims: copyDims(v.dims, i) });
    for (const v of g.valueInfo ?? []) valueInfo.push({ ...v, name: prefix(i) + v.name, dims: copyDims(v.dims, i) });
    const copy = { inputs: new Map(perCopy.map((v) => [v.name, prefix(i) + v.name])), loss: ref(i, step.loss), output: ref(i, step.output) };
    outputs.push({ name: copy.loss, dims: copyDims(outputDims.get(step.loss), i) }, { name: copy.output, dims: copyDims(outputDims.get(step.output), i) });
    copies.push(copy);
  }
  const final = (name: string): string => {
    const value = ref(k - 1, name);
    outputs.push({ name: value, dims: outputDims.get(name) });
    return value;
  };
  const params = step.params.map((p) => ({ output: final(p.output), slots: p.slots.map((s) => final(s.output)) }));
  const unrolled: ModelValue = { ...model, graph: { ...g, nodes, inputs, outputs, valueInfo, initializers: [...g.initializers, ...shapes] } };
  return { onnx: encodeModelValue(unrolled), copies, params };
}
