// Two ONNX models as one: the first's output feeds the second's input (an imported base cut at its features,
// then the head compiled from Keras layers). The second's names are prefixed so nothing collides.
import { TransferkitError } from '../../errors.js';
import type { AttributeValue, GraphValue, ModelValue, OpsetImport } from './proto.js';

const isDefault = (d: string) => d === '' || d === 'ai.onnx';

/** The opset imports of both: each domain at the higher version (ops of the head are stable across 13–18). */
function mergeOpsets(a: OpsetImport[], b: OpsetImport[]): OpsetImport[] {
  const out = new Map<string, number>();
  for (const o of [...a, ...b]) {
    const key = isDefault(o.domain) ? '' : o.domain;
    out.set(key, Math.max(out.get(key) ?? 0, o.version));
  }
  const low = [...a, ...b].filter((o) => isDefault(o.domain)).map((o) => o.version);
  if (Math.min(...low) < 13 && Math.max(...low) >= 13)
    throw new TransferkitError(
      `cannot merge an opset ${Math.min(...low)} graph with an opset ${Math.max(...low)} one: re-export the base with opset 13 or later`,
    );
  return [...out].map(([domain, version]) => ({ domain, version }));
}

function renamed(graph: GraphValue, prefix: string, input: string, into: string): GraphValue {
  const rename = (v: string) => (v === '' ? v : v === input ? into : `${prefix}${v}`);
  const attrs = (a: Record<string, AttributeValue>) => {
    for (const v of Object.values(a))
      if (typeof v === 'object' && v !== null && 'graph' in v) throw new TransferkitError('a head with subgraphs cannot be merged');
    return a;
  };
  return {
    ...graph,
    nodes: graph.nodes.map((n) => ({
      ...n,
      name: `${prefix}${n.name}`,
      inputs: n.inputs.map(rename),
      outputs: n.outputs.map(rename),
      attributes: attrs(n.attributes),
    })),
    initializers: graph.initializers.map((t) => ({ ...t, name: rename(t.name) })),
    inputs: [],
    outputs: graph.outputs.map((o) => ({ ...o, name: rename(o.name) })),
    valueInfo: (graph.valueInfo ?? []).map((v) => ({ ...v, name: rename(v.name) })),
  };
}

/** `first` then `second`: one graph with first's inputs and second's outputs. */
export function mergeModels(first: ModelValue, second: ModelValue, prefix = 'head/'): ModelValue {
  if (first.graph.outputs.length !== 1 || second.graph.inputs.length !== 1)
    throw new TransferkitError('a merge needs a first graph with one output and a second with one input');
  const link = first.graph.outputs[0].name;
  const tail = renamed(second.graph, prefix, second.graph.inputs[0].name, link);
  return {
    irVersion: Math.max(first.irVersion, second.irVersion),
    producerName: 'transferkit',
    opsetImports: mergeOpsets(first.opsetImports, second.opsetImports),
    graph: {
      name: first.graph.name,
      nodes: [...first.graph.nodes, ...tail.nodes],
      initializers: [...first.graph.initializers, ...tail.initializers],
      inputs: first.graph.inputs,
      outputs: tail.outputs,
      valueInfo: [...(first.graph.valueInfo ?? []), ...(tail.valueInfo ?? [])],
    },
  };
}
