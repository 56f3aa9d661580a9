// Shape arithmetic after a cut, made to read the cut only. Exporters compute reshape targets from the input's
// shape: dynamo reads Shape(pixel_values) once for the dynamic batch and reuses it in later Reshapes, Hugging Face
// Swin carries the patch embedding's height and width into every stage's window arithmetic. Such a value is no
// dependency on the input's pixels: where static shape inference knows it (numbers, or multiples of the batch
// size), it becomes a constant, or a product of the batch read from the cut value itself.
import { type Dim, type GraphValue, type NodeValue, type TensorValue, DataType, int64Raw } from './proto.js';
import { Elem } from './grad/dims.js';
import { inferShapes } from './grad/shapes.js';

/**
 * A folded value under a new name (the prefix still computes the original, and a fine-tuned base holds both): an
 * initializer, or nodes that compute it from the cut.
 */
export interface Folded {
  value: string;
  initializers: TensorValue[];
  nodes: NodeValue[];
}

/** `d` as `count × batch` (count alone when static), or undefined when it involves any other symbol. */
function multipleOf(d: Dim, batch: string | undefined): { count: number; batched: boolean } | undefined {
  if (typeof d === 'number') return { count: d, batched: false };
  let count = 1;
  let batched = false;
  for (const f of d.split('*')) {
    if (/^-?\d+$/.test(f)) count *= Number(f);
    else if (f === batch && !batched) batched = true;
    else return undefined;
  }
  return { count, batched };
}

export const int64s = (name: string, values: number[], dims: number[], type: number = Elem.INT64): TensorValue => ({
  name,
  dims,
  dataType: type === Elem.INT32 ? DataType.INT32 : DataType.INT64,
  raw: type === Elem.INT32 ? new Uint8Array(Int32Array.from(values).buffer) : int64Raw(values),
});

/**
 * The integer values read after `cut` (by the nodes in `after`) that shape inference knows: each as a constant, or
 * as products of the batch size read from `Shape(cut)`. Values it cannot express are left out.
 */
export function foldShapeValues(graph: GraphValue, cut: string, after: NodeValue[]): Map<string, Folded> {
  const facts = inferShapes(graph);
  const cutBatch = facts.get(cut)?.dims?.[0];
  const symbols = typeof cutBatch === 'string' ? cutBatch.split('*').filter((f) => !/^\d+$/.test(f)) : [];
  // The cut's first dim is k·N for one symbol N (k > 1 where windows or heads are folded into the batch).
  const batch = symbols.length === 1 ? symbols[0] : undefined;
  const k = batch ? (multipleOf(cutBatch as Dim, batch)?.count ?? 0) : 0;
  const out = new Map<string, Folded>();
  const used = new Set([...graph.nodes.flatMap((n) => [...n.inputs, ...n.outputs]), ...graph.initializers.map((t) => t.name)]);
  const fresh = (base: string) => {
    let name = `transferkit_${base}`;
    for (let i = 1; used.has(name); i++) name = `transferkit_${base}_${i}`;
    used.add(name);
    return name;
  };
  let batchValue: { nodes: NodeValue[]; initializers: TensorValue[]; value: string } | undefined;
  const batchOfCut = () => {
    if (batchValue) return batchValue;
    const [shape, first, n0, kName, n] = ['cut_shape', 'zero', 'cut_batch', 'batch_multiple', 'batch'].map(fresh);
    const nodes: NodeValue[] = [
      { opType: 'Shape', name: `${shape}_node`, inputs: [cut], outputs: [shape], attributes: {} },
      { opType: 'Gather', name: `${n0}_node`, inputs: [shape, first], outputs: [k === 1 ? n : n0], attributes: { axis: 0 } },
    ];
    const initializers = [int64s(first, [0], [1])];
    if (k !== 1) {
      nodes.push({ opType: 'Div', name: `${n}_node`, inputs: [n0, kName], outputs: [n], attributes: {} });
      initializers.push(int64s(kName, [k], [1]));
    }
    batchValue = { nodes, initializers, value: n };
    return batchValue;
  };
  for (const node of after)
    for (const v of node.outputs) {
      const f = facts.get(v);
      if (!v || !f?.ints || !f.dims || f.dims.length > 1 || (f.type !== Elem.INT64 && f.type !== Elem.INT32)) continue;
      const parts = f.ints.map((d) => multipleOf(d, batch));
      if (parts.some((p) => !p)) continue;
      const known = parts as Array<{ count: number; batched: boolean }>;
      const dims = f.dims as number[];
      if (!known.some((p) => p.batched)) {
        const counts = known.map((p) => p.count);
        const value = fresh(`${v}_folded`);
        out.set(v, { value, initializers: [int64s(value, counts, dims, f.type)], nodes: [] });
        continue;
      }
      if (!batch || k < 1) continue;
      const b = batchOfCut();
      const nodes = [...b.nodes];
      const initializers = [...b.initializers];
      const elements = known.map((p) => {
        const c = fresh('shape_part');
        initializers.push(int64s(c, [p.count], [1]));
        if (!p.batched) return c;
        const m = fresh('batch_part');
        nodes.push({ opType: 'Mul', name: `${m}_node`, inputs: [b.value, c], outputs: [m], attributes: {} });
        return m;
      });
      const joined = dims.length === 1 ? fresh('shape') : fresh('shape_1');
      nodes.push({ opType: 'Concat', name: `${joined}_node`, inputs: elements, outputs: [joined], attributes: { axis: 0 } });
      let last = joined;
      if (dims.length === 0) {
        const scalar = fresh('scalar_shape');
        initializers.push(int64s(scalar, [], [0]));
        const r = fresh('scalar');
        nodes.push({ opType: 'Reshape', name: `${r}_node`, inputs: [last, scalar], outputs: [r], attributes: {} });
        last = r;
      }
      const value = fresh(`${v}_folded`);
      nodes.push(
        f.type === Elem.INT32
          ? { opType: 'Cast', name: `${value}_node`, inputs: [last], outputs: [value], attributes: { to: Elem.INT32 } }
          : { opType: 'Identity', name: `${value}_node`, inputs: [last], outputs: [value], attributes: {} },
      );
      out.set(v, { value, initializers, nodes });
    }
  return out;
}
