// A Split of constant sizes (timm's TorchScript export unbinds its packed qkv with one) as one Slice per output,
// where the token-liveness pass (prune-tokens.ts) wants a selection of some output: a multi-output node cannot be
// computed for the selected positions, its Slices can (the q part's), and the others become seeds (k and v).
import { GraphBuilder } from '../graph.js';
import type { GraphValue, NodeValue } from '../proto.js';
import { type ValueFacts, attr, normAxis } from './dims.js';

/** Each output's [start, end) along the axis, where the sizes are known. */
function partsOf(node: NodeValue, facts: Map<string, ValueFacts>): { axis: number; bounds: number[][] } | undefined {
  const dims = facts.get(node.inputs[0])?.dims;
  if (!dims) return undefined;
  const axis = normAxis(attr(node, 'axis', 0), dims.length);
  const size = dims[axis];
  const given = node.inputs[1] ? facts.get(node.inputs[1])?.ints : attr<number[] | undefined>(node, 'split', undefined);
  const count = node.outputs.length;
  const sizes = given ?? (typeof size === 'number' && size % count === 0 ? new Array(count).fill(size / count) : undefined);
  if (!sizes || sizes.some((s) => typeof s !== 'number')) return undefined;
  let start = 0;
  return { axis, bounds: (sizes as number[]).map((s) => [start, (start += s)]) };
}

/** `graph` with the `splits` nodes (where their sizes are known) replaced by Slices writing the same outputs. */
export function splitsAsSlices(graph: GraphValue, splits: Set<NodeValue>, facts: Map<string, ValueFacts>): GraphValue {
  const g = new GraphBuilder(graph.name);
  g.adopt(graph);
  const nodes = graph.nodes.flatMap((node) => {
    const parts = splits.has(node) ? partsOf(node, facts) : undefined;
    if (!parts) return [node];
    return node.outputs.map((out, i) => ({
      opType: 'Slice',
      name: g.fresh(`${node.name}_part`),
      inputs: [node.inputs[0], ...[[parts.bounds[i][0]], [parts.bounds[i][1]], [parts.axis]].map((v) => g.ints('bounds', v))],
      outputs: [out],
      attributes: {},
    }));
  });
  return { ...graph, nodes, initializers: g.graph().initializers };
}
