// Checks an ONNX model before ONNX Runtime sees it, so a damaged or hostile file is refused in one line that
// says what is wrong with it (ONNX Runtime's own errors carry its log lines, source paths and C++ signatures,
// and some of them only surface when a batch runs).
import type { AttributeValue, Dim, GraphValue, ModelValue, ValueInfo } from './proto.js';

/** The default-domain opsets onnxruntime-node 1.30 runs (it guarantees 7 and up; 26 is its newest). */
export const OPSETS = { min: 7, max: 26 } as const;
/** No dimension of a graph value, and no image side, may exceed these. */
const MAX_DIM = 2 ** 31 - 1;
const MAX_IMAGE_SIDE = 16384;
/** Convolution and pooling attributes past this are not a real network's. */
const MAX_WINDOW = 4096;

/** Attributes whose every int must lie in a range, by name (the ops that take them read them so). */
const INT_RANGES: Record<string, [number, number]> = {
  kernel_shape: [1, MAX_WINDOW],
  strides: [1, MAX_WINDOW],
  dilations: [1, MAX_WINDOW],
  pads: [0, MAX_WINDOW],
  output_padding: [0, MAX_WINDOW],
  group: [1, 2 ** 20],
};

const intsOf = (v: AttributeValue): Array<number | bigint> | null =>
  typeof v === 'number' || typeof v === 'bigint' ? [v] : Array.isArray(v) ? v : typeof v === 'object' && 'ints' in v ? v.ints : null;

function checkDims(v: ValueInfo, what: string): string | null {
  for (const d of v.dims ?? []) if (typeof d === 'number' && (!Number.isInteger(d) || d < 0 || d > MAX_DIM)) return `${what} ${v.name} has dimension ${d}`;
  return null;
}

function checkGraph(g: GraphValue): string | null {
  const initializers = new Set<string>();
  for (const t of g.initializers) {
    if (initializers.has(t.name)) return `initializer ${t.name} is defined twice`;
    initializers.add(t.name);
  }
  for (const [list, what] of [
    [g.inputs, 'input'],
    [g.outputs, 'output'],
    [g.valueInfo ?? [], 'value'],
  ] as const)
    for (const v of list) {
      const bad = checkDims(v, what);
      if (bad) return bad;
    }
  const produced = new Set<string>(g.inputs.map((i) => i.name).filter((n) => !initializers.has(n)));
  const shapes = new Map(g.initializers.map((t) => [t.name, t.dims]));
  for (const n of g.nodes) {
    const node = `node ${n.name || n.outputs[0] || '(unnamed)'} (${n.opType})`;
    for (const [name, value] of Object.entries(n.attributes)) {
      const range = INT_RANGES[name];
      const ints = range && intsOf(value);
      if (!ints) continue;
      const bad = ints.find((x) => typeof x === 'bigint' || x < range[0] || x > range[1]);
      if (bad !== undefined) return `${node} has ${name} ${bad} (${range[0]}–${range[1]} expected)`;
    }
    const group = n.attributes.group;
    const weight = n.opType === 'Conv' ? shapes.get(n.inputs[1]) : undefined;
    if (typeof group === 'number' && weight && weight[0] % group !== 0)
      return `${node} has group ${group}, which does not divide its ${weight[0]} output channels`;
    for (const o of n.outputs) {
      if (!o) continue;
      if (produced.has(o) || initializers.has(o)) return `value ${o} is produced twice (${node})`;
      produced.add(o);
    }
  }
  return danglingRead(g, produced, initializers);
}

/** A node input that no graph input, initializer or node provides (a damaged name): the first, as a problem. */
function danglingRead(g: GraphValue, produced: Set<string>, initializers: Set<string>): string | null {
  for (const n of g.nodes)
    for (const i of n.inputs)
      if (i && !produced.has(i) && !initializers.has(i))
        return `node ${n.name || n.outputs[0] || '(unnamed)'} (${n.opType}) reads ${JSON.stringify(i.slice(0, 80))}, which nothing in the graph produces: the file is damaged`;
  return null;
}

/** What is wrong with `model` for ONNX Runtime and transferkit, or null. `imageInput` names the pixels input. */
export function onnxModelProblem(model: ModelValue, imageInput?: ValueInfo): string | null {
  const opsets = model.opsetImports.filter((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!opsets.length) return 'it imports no opset of the default ONNX domain';
  for (const { version } of opsets)
    if (!(version >= OPSETS.min && version <= OPSETS.max))
      return `opset ${version}: ONNX Runtime runs opsets ${OPSETS.min}–${OPSETS.max}; re-export with one of those (e.g. opset 17)`;
  const bad = checkGraph(model.graph);
  if (bad) return bad;
  const sides = (imageInput?.dims ?? []).slice(1).filter((d: Dim): d is number => typeof d === 'number');
  const big = sides.find((d) => d > MAX_IMAGE_SIDE);
  if (big !== undefined) return `input ${imageInput?.name} has a side of ${big} (at most ${MAX_IMAGE_SIDE})`;
  return null;
}
