// Cutting an imported ONNX graph at a value: the prefix that computes it (the frozen base of feature extraction),
// the suffix that starts from it (what fine-tuning would train, with its initializers), and the graph's blocks by
// node-name prefix. (The default feature value is in default-features.ts.)
import { TransferkitError } from '../../errors.js';
import { isAdditiveMask } from './attention-mask.js';
import { foldShapeValues } from './fold-shapes.js';
import { gradientReads } from './grad/rules.js';
import { DataType, type GraphValue, type NodeValue, type TensorValue, type ValueInfo } from './proto.js';

/** Every value a node reads, its subgraphs' outer-scope reads included (If/Loop bodies). */
function reads(node: NodeValue): string[] {
  const out = node.inputs.filter(Boolean);
  for (const a of Object.values(node.attributes)) {
    if (typeof a === 'object' && a !== null && 'graph' in a) {
      const inner = new Set([...a.graph.initializers.map((t) => t.name), ...a.graph.inputs.map((i) => i.name)]);
      for (const n of a.graph.nodes) n.outputs.forEach((o) => inner.add(o));
      for (const n of a.graph.nodes) for (const r of reads(n)) if (!inner.has(r)) out.push(r);
    }
  }
  return out;
}

/** The node that produces each value. */
export function producers(graph: GraphValue): Map<string, NodeValue> {
  const map = new Map<string, NodeValue>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) map.set(o, n);
  return map;
}

/** Graph inputs that are data (older exports also list every initializer as an input). */
export function dataInputs(graph: GraphValue): ValueInfo[] {
  const init = new Set(graph.initializers.map((t) => t.name));
  return graph.inputs.filter((i) => !init.has(i.name));
}

/** The nodes (in graph order) needed to compute `targets`, and the values they need from outside. */
function needed(graph: GraphValue, targets: string[], stopAt: Set<string> = new Set()): { nodes: NodeValue[]; reads: Set<string> } {
  const by = producers(graph);
  const keep = new Set<NodeValue>();
  const outside = new Set<string>();
  const stack = [...targets];
  const seen = new Set<string>();
  while (stack.length) {
    const v = stack.pop() as string;
    if (seen.has(v)) continue;
    seen.add(v);
    const node = stopAt.has(v) ? undefined : by.get(v);
    if (!node) {
      outside.add(v);
      continue;
    }
    if (keep.has(node)) continue;
    keep.add(node);
    stack.push(...reads(node));
  }
  return { nodes: graph.nodes.filter((n) => keep.has(n)), reads: outside };
}

/** The value a node name or value name stands for: a value as it is, a node by its first output. */
export function resolveValue(graph: GraphValue, name: string): string {
  if (producers(graph).has(name) || graph.inputs.some((i) => i.name === name)) return name;
  const node = graph.nodes.find((n) => n.name === name);
  if (node) return node.outputs[0];
  const near = graph.nodes
    .filter((n) => n.name.includes(name) || n.outputs.some((o) => o.includes(name)))
    .slice(0, 3)
    .map((n) => n.name || n.outputs[0]);
  throw new TransferkitError(
    `no node or value named '${name}' in the ONNX graph${near.length ? ` (near: ${near.join(', ')})` : ''}; see transferkit layers MODEL.onnx --json`,
  );
}

/**
 * The part of `graph` that computes `output` (or each of several) from the graph's inputs: the frozen base of
 * feature extraction, a training step's forward part.
 */
export function prefixGraph(graph: GraphValue, output: string | string[]): GraphValue {
  const targets = typeof output === 'string' ? [output] : output;
  const { nodes, reads: outside } = needed(graph, targets);
  const initializers = graph.initializers.filter((t) => outside.has(t.name));
  const inputs = dataInputs(graph).filter((i) => outside.has(i.name));
  const known = new Set([...initializers.map((t) => t.name), ...inputs.map((i) => i.name)]);
  const missing = [...outside].filter((v) => !known.has(v));
  if (missing.length) throw new TransferkitError(`the ONNX graph reads ${missing[0]}, which nothing produces: the file is incomplete`);
  const infos = [...graph.outputs, ...(graph.valueInfo ?? [])];
  const outputs = targets.map((name) => {
    const info = infos.find((v) => v.name === name);
    return { name, dims: info?.dims, ...(info?.elemType ? { elemType: info.elemType } : {}) };
  });
  return { name: graph.name, nodes, initializers, inputs, outputs };
}

/** What fine-tuning from a cut trains: the graph from `cut` to the outputs, and its float initializers. */
export interface Suffix {
  /** The nodes after the cut and their initializers (plus frozen copies of trained tensors read as statistics). */
  graph: GraphValue;
  /**
   * Initializers read by the suffix that become trainable weights: float tensors with more than one element that
   * the outputs depend on through gradients (not BatchNormalization's running statistics, say), and not folded
   * attention masks.
   */
  trainable: string[];
  /**
   * Trainable initializers the frozen prefix reads too (exporters merge equal tensors, e.g. LayerNorm's ones):
   * training them must give the suffix its own copy, or the cached prefix goes stale.
   */
  shared: string[];
}

/**
 * The part of `graph` after `cut`: its input is the cut value, its outputs the graph's. Shape arithmetic it reads
 * from before the cut (the input's batch size, static sizes) is folded to read the cut only (see fold-shapes.ts).
 */
export function suffixGraph(graph: GraphValue, cut: string, cutInfo: ValueInfo = { name: cut, dims: undefined }): Suffix {
  const outputs = graph.outputs.map((o) => o.name);
  let { nodes, reads: outside } = needed(graph, outputs, new Set([cut]));
  const readsInput = () => dataInputs(graph).filter((i) => outside.has(i.name) && i.name !== cut);
  let added: { nodes: NodeValue[]; initializers: TensorValue[] } = { nodes: [], initializers: [] };
  if (readsInput().length) {
    const folded = foldShapeValues(graph, cut, nodes);
    ({ nodes, reads: outside } = needed(graph, outputs, new Set([cut, ...folded.keys()])));
    const used = [...folded].filter(([v]) => outside.has(v));
    for (const [v] of used) outside.delete(v);
    const renamed = new Map(used.map(([v, f]) => [v, f.value]));
    nodes = nodes.map((n) => (n.inputs.some((i) => renamed.has(i)) ? { ...n, inputs: n.inputs.map((i) => renamed.get(i) ?? i) } : n));
    // Folded values share the nodes that read the batch size from the cut.
    added = {
      nodes: [...new Set(used.flatMap(([, f]) => f.nodes))],
      initializers: [...new Map(used.flatMap(([, f]) => f.initializers).map((t) => [t.name, t])).values()],
    };
  }
  const data = readsInput();
  if (data.length)
    throw new TransferkitError(`the graph after ${cut} still reads the input ${data[0].name}: cut at a value every path to the output goes through`);
  const reach = gradientReads(
    nodes,
    graph.outputs.map((o) => o.name),
  );
  const trainable = graph.initializers
    .filter((t) => outside.has(t.name) && t.dataType === DataType.FLOAT && t.dims.reduce((a, b) => a * b, 1) > 1 && reach.values.has(t.name))
    .filter((t) => !isAdditiveMask(t))
    .map((t) => t.name);
  const frozen = frozenCopies(graph, nodes, new Set(trainable), reach.reads);
  const before = needed(graph, [cut]).reads;
  return {
    graph: {
      name: `${graph.name}_suffix`,
      nodes: [...added.nodes, ...frozen.nodes],
      initializers: [...graph.initializers.filter((t) => outside.has(t.name)), ...frozen.copies, ...added.initializers],
      inputs: [{ ...cutInfo, name: cut }],
      outputs: graph.outputs,
    },
    trainable,
    shared: trainable.filter((t) => before.has(t)),
  };
}

/**
 * Exporters merge equal initializers (a fresh BatchNorm's weight and running variance, both ones): where a
 * trained tensor is also read without a gradient (a statistic), that read gets a frozen copy, so training the
 * weight leaves the statistic as it was.
 */
function frozenCopies(graph: GraphValue, nodes: NodeValue[], trainable: Set<string>, live: (n: NodeValue) => Set<number>) {
  const byName = new Map(graph.initializers.map((t) => [t.name, t]));
  const taken = new Set([...byName.keys(), ...graph.nodes.flatMap((n) => n.outputs)]);
  const copies = new Map<string, TensorValue>();
  const copyOf = (v: string) => {
    let copy = copies.get(v);
    if (!copy) {
      let name = `${v}_frozen`;
      while (taken.has(name)) name += '_';
      taken.add(name);
      copy = { ...(byName.get(v) as TensorValue), name };
      copies.set(v, copy);
    }
    return copy.name;
  };
  const rewritten = nodes.map((n) => {
    const reads = live(n);
    if (!n.inputs.some((v, i) => trainable.has(v) && !reads.has(i))) return n;
    return { ...n, inputs: n.inputs.map((v, i) => (trainable.has(v) && !reads.has(i) ? copyOf(v) : v)) };
  });
  return { nodes: rewritten, copies: [...copies.values()] };
}

export const isInitializer = (graph: GraphValue) => {
  const names = new Set(graph.initializers.map((t) => t.name));
  return (v: string) => names.has(v);
};

/** A block of an imported graph: nodes whose names share a prefix such as `encoder.layer.10` or `features.3`. */
export interface GraphBlock {
  name: string;
  nodes: number;
  params: number;
  /** The first value the block reads from outside (where fine-tuning from it would cut). */
  firstNode: string;
  /** Whether the name ends in a block index (encoder.layer.10), which --unfreeze-last-blocks counts. */
  numbered: boolean;
}

/** The metadata key under which torch's dynamo exporter records a node's module path (a Python list's repr). */
const NAME_SCOPES = 'pkg.torch.onnx.name_scopes';

/**
 * A node's name with its module path, as TorchScript exports write it (`/vit/encoder/layer.10/attention/MatMul`):
 * dynamo exports name nodes `node_MatMul_12` and keep the path in metadata (`['', 'vit', 'vit.encoder', …,
 * 'matmul_3']`), read back into the same form. Nodes outside any module (the batch size read at the top) are top.
 */
export function scopedName(node: NodeValue): string {
  const scopes = node.metadata?.[NAME_SCOPES];
  if (!scopes) return node.name;
  const parts = [...scopes.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2]).filter(Boolean);
  if (!parts.length || parts[0].startsWith('_empty_nn_module_stack')) return node.name;
  return `/${parts.join('/')}`;
}

/** A scope that ends a block's path: an index (`layer.10`, `blocks_3`, `features.3`) or timm's short `s2`, `b1`. */
const BLOCK_SCOPE = /(^|[._])\d+$|^[a-z]\d+$/;

/**
 * The block a node belongs to, from its scoped name (`/vit/encoder/layer.10/attention/MatMul`,
 * `/features/features.3/block/Conv`, `/s3/s3.b1/conv`): the dotted module path up to the first index, else its
 * first scope.
 */
export function blockOf(nodeName: string): { name: string; numbered: boolean } {
  const segments = nodeName.split('/').filter(Boolean).slice(0, -1);
  let pathSoFar = '';
  for (const s of segments) {
    // torch writes each scope either as the full module path (features.3 under features) or as its own name.
    pathSoFar = pathSoFar && !s.startsWith(`${pathSoFar}.`) ? `${pathSoFar}.${s}` : s;
    // A classifier's numbered layers (classifier.2, fc.1) are the head, not blocks of the body.
    if (BLOCK_SCOPE.test(s.slice(s.lastIndexOf('.') + 1)) || BLOCK_SCOPE.test(s))
      return { name: pathSoFar, numbered: !HEAD_SCOPES.has(pathSoFar.split('.')[0]) };
  }
  return { name: segments[0] ?? '(top)', numbered: false };
}

/** Top-level scopes of classifiers in torchvision, timm and Hugging Face exports. */
const HEAD_SCOPES = new Set(['classifier', 'head', 'heads', 'fc', 'pre_logits', 'pooler']);

const elements = (t: TensorValue) => t.dims.reduce((a, b) => a * b, 1);

/** The graph's blocks in order, with the parameters (initializer elements) each reads first. */
export function graphBlocks(graph: GraphValue): GraphBlock[] {
  const init = new Map(graph.initializers.map((t) => [t.name, t]));
  const counted = new Set<string>();
  const blocks = new Map<string, GraphBlock>();
  for (const node of graph.nodes) {
    const { name, numbered } = blockOf(scopedName(node));
    let b = blocks.get(name);
    if (!b) {
      b = { name, nodes: 0, params: 0, firstNode: node.name, numbered };
      blocks.set(name, b);
    }
    b.nodes++;
    for (const i of reads(node)) {
      const t = init.get(i);
      if (t && !counted.has(i) && (t.dataType === DataType.FLOAT || t.dataType === DataType.FLOAT16) && elements(t) > 1) {
        counted.add(i);
        b.params += elements(t);
      }
    }
  }
  return [...blocks.values()];
}

/**
 * Where fine-tuning from a block (or node, or value) cuts the graph: the value the block's first node reads from
 * before the block (a transformer block's residual stream, a CNN stage's input). `lastBlocks` counts numbered
 * blocks from the end. The suffix from there is what would train.
 */
export function fineTuneCut(graph: GraphValue, from: { block?: string; lastBlocks?: number }): { block: string; value: string; suffix: Suffix } {
  const blocks = graphBlocks(graph);
  const numbered = blocks.filter((b) => b.numbered);
  let name = from.block;
  if (from.lastBlocks !== undefined) {
    if (from.lastBlocks < 1 || from.lastBlocks > numbered.length)
      throw new TransferkitError(`the graph has ${numbered.length} numbered block(s), so not the last ${from.lastBlocks}`);
    name = numbered[numbered.length - from.lastBlocks].name;
  }
  if (name === undefined) throw new TransferkitError('say where to cut: a block name or a number of last blocks');
  let value: string;
  if (blocks.some((b) => b.name === name)) {
    const inBlock = graph.nodes.filter((n) => blockOf(scopedName(n)).name === name);
    const inside = new Set(inBlock.flatMap((n) => n.outputs));
    const init = isInitializer(graph);
    const first = inBlock[0].inputs.find((i) => i && !inside.has(i) && !init(i));
    if (!first) throw new TransferkitError(`block ${name} reads nothing from before it; cut at a value with --unfreeze-from VALUE`);
    value = first;
  } else value = resolveValue(graph, name);
  return { block: name, value, suffix: suffixGraph(graph, value) };
}
