// A rewrite of the forward graph before it is differentiated: token liveness. A fine-tuned ViT's output reads only
// the class token of its last block (`x[:, 0]` after the final LayerNorm: a Gather or Slice of constant positions),
// so every op that works on each token alone (LayerNorm, the MLP, the out-projection, the residual Adds, the
// attention rows) needs only that token: the selection moves up the graph through such ops (token-rules.ts) and
// stops at a value other consumers need whole (the block's input feeding the keys and values, the packed qkv
// projection), where it is taken by a Slice. The last block then computes its keys and values for every token and
// the rest for one: ViT-B/16's last-2-blocks step loses ~40% of its matmul work, with the same gradients.
// A packed qkv projection is computed twice: whole for its k and v parts, selected for q (see wantedOf); a second
// sweep then drops the q columns from the whole one and the k, v columns from the selected one.
import { int64s } from '../fold-shapes.js';
import { GraphBuilder } from '../graph.js';
import type { GraphValue, NodeValue, TensorValue } from '../proto.js';
import { FLOATS, type ValueFacts, attr, normAxis } from './dims.js';
import { inferShapes } from './shapes.js';
import { TOKEN_RULES, type TokenPlan } from './token-rules.js';
import { type Selection, sameSelection, take, takeable } from './token-selection.js';
import { splitsAsSlices } from './token-splits.js';
import { sliceOf } from './window-shapes.js';

interface Wanted {
  /** Selections pruned consumers need, selections seeds take, and whether any consumer reads it whole. */
  sels: Selection[];
  seeds: Selection[];
  whole: boolean;
  /** Read whole by the whole copy of a node computed both ways (whose readers take a part of it). */
  partial: boolean;
}

interface Liveness {
  /** Nodes computed for the selection only, with what they need of their inputs. */
  plans: Map<NodeValue, { sel: Selection; plan: TokenPlan }>;
  /** The selection of each pruned value. */
  pruned: Map<string, Selection>;
  /** Pruned nodes also computed whole, for readers that take a part along another axis. */
  cloned: Set<string>;
  /** Splits some of whose outputs are wanted selected (computed as Slices instead: token-splits.ts). */
  splits: Set<NodeValue>;
}

/** The positions a Gather or single-axis Slice of constant positions takes from a float value of static size there. */
function seedOf(node: NodeValue, facts: Map<string, ValueFacts>): Selection | undefined {
  const x = facts.get(node.inputs[0]);
  if ((node.domain ?? '') !== '' || !x?.dims || x.dims.length < 2 || !FLOATS.has(x.type)) return undefined;
  const dims = x.dims;
  const ints = (i: number) => (node.inputs[i] ? facts.get(node.inputs[i])?.ints : undefined);
  let found: { axis: number; indices: number[] } | undefined;
  if (node.opType === 'Gather') {
    const at = ints(1);
    const axis = normAxis(attr(node, 'axis', 0), dims.length);
    const size = dims[axis];
    if (!at?.length || (facts.get(node.inputs[1])?.dims?.length ?? 2) > 1 || typeof size !== 'number') return undefined;
    if (at.some((i) => typeof i !== 'number' || i < -size || i >= size)) return undefined;
    found = { axis, indices: (at as number[]).map((i) => (i + size) % size) };
  } else if (node.opType === 'Slice') {
    const cuts = sliceOf(node, dims, ints)?.filter((p) => !(p.step === 1 && p.start === 0 && p.size === dims[p.axis]));
    if (cuts?.length !== 1 || cuts[0].step !== 1 || !cuts[0].indices?.length) return undefined;
    found = { axis: cuts[0].axis, indices: cuts[0].indices };
  }
  const size = found && dims[found.axis];
  return found && typeof size === 'number'
    ? { axis: found.axis, outer: 1, size, inner: 1, indices: [...new Set(found.indices)].sort((a, b) => a - b) }
    : undefined;
}

/**
 * The seeds' positions together, where they select along one axis and keep at most two thirds of it (k and v of
 * a packed qkv; keeping more saves less than the slices cost: timm's `x[:, 1:]`).
 */
function union(seeds: Selection[]): Selection | undefined {
  const [first] = seeds;
  if (!seeds.every((s) => s.axis === first.axis && s.size === first.size)) return undefined;
  const indices = [...new Set(seeds.flatMap((s) => s.indices))].sort((a, b) => a - b);
  return 3 * indices.length <= 2 * first.size ? { ...first, indices } : undefined;
}

/**
 * The one selection every consumer of `node`'s output wants, if there is one (its other outputs unread); `clone`
 * where the node is computed whole too: its other readers take parts along another axis (a packed qkv read by
 * q's pruned rows and by k's and v's Gathers), so the whole value can lose those parts in the next sweep.
 */
function wantedOf(node: NodeValue, wanted: Map<string, Wanted>, read: Set<string>): { sel: Selection; clone: boolean } | undefined {
  if (node.outputs.slice(1).some((o) => o && read.has(o))) return undefined;
  const w = wanted.get(node.outputs[0]);
  if (!w || w.whole) return undefined;
  const seeds = w.seeds.length ? union(w.seeds) : undefined;
  if (w.seeds.length && !seeds) return undefined;
  const [first] = w.sels;
  const agree = w.sels.every((s) => sameSelection(s, first));
  if (first && agree && (w.partial || (seeds && seeds.axis !== first.axis))) return { sel: first, clone: true };
  const all = seeds ? [...w.sels, seeds] : w.sels;
  return !w.partial && all.length && all.every((s) => sameSelection(s, all[0])) ? { sel: all[0], clone: false } : undefined;
}

/** Which nodes compute only selected positions: one sweep from the outputs back, each node decided once its readers are. */
function liveness(graph: GraphValue, facts: Map<string, ValueFacts>, opset: number, outputs: string[]): Liveness {
  const read = new Set([...graph.nodes.flatMap((n) => n.inputs), ...outputs]);
  const wanted = new Map<string, Wanted>(outputs.map((o) => [o, { sels: [], seeds: [], whole: true, partial: false }]));
  const want = (v: string) => wanted.get(v) ?? (wanted.set(v, { sels: [], seeds: [], whole: false, partial: false }).get(v) as Wanted);
  const dims = (v: string) => facts.get(v)?.dims;
  const ints = (v: string) => facts.get(v)?.ints;
  const result: Liveness = { plans: new Map(), pruned: new Map(), cloned: new Set(), splits: new Set() };
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k];
    const decided = wantedOf(node, wanted, read);
    const sel = decided?.sel;
    const rule = sel && (node.domain ?? '') === '' && Object.hasOwn(TOKEN_RULES, node.opType) ? TOKEN_RULES[node.opType] : undefined;
    const plan = sel && rule?.({ node, sel, dims, ints, opset });
    const fits = plan?.inputs.every((d, i) => typeof d === 'string' || takeable(d, dims(node.inputs[i]) ?? []));
    if (sel && plan && fits) {
      result.plans.set(node, { sel, plan });
      result.pruned.set(node.outputs[0], sel);
      plan.inputs.forEach((d, i) => {
        if (typeof d !== 'string') want(node.inputs[i]).sels.push(d);
        else if (d === 'whole') want(node.inputs[i]).whole = true;
      });
      if (decided.clone) {
        result.cloned.add(node.outputs[0]);
        // The whole copy needs the selected inputs only in part, up to the projection computing the parts.
        const part = node.opType !== 'MatMul' && node.opType !== 'Gemm';
        plan.inputs.forEach((d, i) => {
          if (node.inputs[i]) want(node.inputs[i])[part && typeof d !== 'string' ? 'partial' : 'whole'] = true;
        });
      }
      continue;
    }
    if (node.opType === 'Split' && node.outputs.some((o) => wanted.get(o)?.sels.length)) result.splits.add(node);
    const seed = seedOf(node, facts);
    if (seed) want(node.inputs[0]).seeds.push(seed);
    // A Shape reads no values: where its input is pruned it is rewritten (rewriteShape).
    if (node.opType === 'Shape') continue;
    for (const v of seed ? node.inputs.slice(1) : node.inputs) if (v) want(v).whole = true;
  }
  return result;
}

/**
 * `graph` with the token-liveness rewrite for the values in `outputs` (default: the graph's), or `graph` itself
 * where no node can be computed for fewer positions.
 */
export function pruneTokens(graph: GraphValue, facts: Map<string, ValueFacts>, opset: number, outputs = graph.outputs.map((o) => o.name)): GraphValue {
  const once = sweep(graph, facts, opset, outputs);
  // The parts of values computed both ways (the packed qkv's columns) are pruned by a second sweep.
  return once === graph ? graph : sweep(once, inferShapes(once), opset, outputs);
}

function sweep(graph: GraphValue, facts: Map<string, ValueFacts>, opset: number, outputs: string[]): GraphValue {
  const live = liveness(graph, facts, opset, outputs);
  const sliced = live.splits.size ? splitsAsSlices(graph, live.splits, facts) : graph;
  if (sliced.nodes.length !== graph.nodes.length) return sweep(sliced, inferShapes(sliced), opset, outputs);
  if (!live.plans.size) return graph;
  const g = new GraphBuilder(graph.name);
  g.adopt(graph);
  const built = g.graph().nodes;
  built.length = 0;
  const extra: TensorValue[] = [];
  const renamed = new Map([...live.pruned.keys()].map((v) => [v, g.fresh(`${v}_tokens`)]));
  const taken = new Map<string, string>();
  const input = (v: string, d: Selection | string) => {
    if (typeof d === 'string') return v;
    const key = `${v}|${JSON.stringify(d)}`;
    if (!renamed.has(v) && !taken.has(key)) taken.set(key, take(g, v, facts.get(v)?.dims ?? [], d));
    return renamed.get(v) ?? (taken.get(key) as string);
  };
  for (const node of graph.nodes) {
    const planned = live.plans.get(node);
    const data = node.inputs[0];
    if (planned) {
      const { inputs, constants = {} } = planned.plan;
      const ins = node.inputs.map((v, i) => (constants[i] ? g.ints('shape', constants[i]) : input(v, inputs[i])));
      const outs = node.outputs.map((o, i) => (i === 0 ? (renamed.get(o) as string) : ''));
      if (live.cloned.has(node.outputs[0])) built.push(node);
      built.push({ ...node, name: g.fresh(`${node.name}_tokens`), inputs: ins, outputs: outs });
    } else if (!renamed.has(data) || live.cloned.has(data)) built.push(node);
    else if (node.opType === 'Shape')
      rewriteShape(g, node, facts.get(data)?.dims?.length ?? 0, live.pruned.get(data) as Selection, renamed.get(data) as string);
    else {
      const scalar = facts.get(node.inputs[1])?.dims?.length === 0;
      built.push(rewriteSeed(g, node, seedOf(node, facts) as Selection, scalar, live.pruned.get(data) as Selection, renamed.get(data) as string, extra));
    }
  }
  const nodes = withoutDead(built, outputs);
  const made = new Set(nodes.flatMap((n) => n.outputs));
  return {
    ...graph,
    nodes,
    initializers: [...g.graph().initializers, ...extra],
    ...(graph.valueInfo ? { valueInfo: graph.valueInfo.filter((v) => made.has(v.name)) } : {}),
  };
}

/** A seed reading a pruned value: the same positions, now at their places in the selection. */
function rewriteSeed(g: GraphBuilder, node: NodeValue, seed: Selection, scalar: boolean, sel: Selection, from: string, extra: TensorValue[]): NodeValue {
  const at = seed.indices.map((i) => sel.indices.indexOf(i));
  if (node.opType === 'Slice') {
    const bounds = [[at[0]], [at[at.length - 1] + 1], [seed.axis]].map((v) => g.ints('bounds', v));
    // Bounds as inputs (opset 10 on): a Slice of opset 1's attributes drops them.
    return { ...node, inputs: [from, ...bounds], attributes: {} };
  }
  // The index keeps its rank: a scalar drops the axis.
  const name = g.fresh('token_index');
  extra.push(int64s(name, at, scalar ? [] : [at.length]));
  return { ...node, inputs: [from, name] };
}

/** Shape of a pruned value: the selection's shape with the axis scaled back to its whole size. */
function rewriteShape(g: GraphBuilder, node: NodeValue, rank: number, sel: Selection, from: string): void {
  const scale = (size: number) => Array.from({ length: rank }, (_, i) => (i === sel.axis ? size : 1));
  const start = normAxis(attr(node, 'start', 0), rank);
  const end = attr<number | undefined>(node, 'end', undefined);
  const part = (v: number[]) => g.ints('scale', v.slice(start, end === undefined ? undefined : normAxis(end, rank)));
  // The selected size is outer·k·inner: times the whole size, divided by k, exactly.
  const whole = g.op('Mul', [g.op('Shape', [from], node.attributes), part(scale(sel.size))]);
  const built = g.graph().nodes;
  built.push({ opType: 'Div', name: g.fresh('shape_node'), inputs: [whole, part(scale(sel.indices.length))], outputs: [node.outputs[0]], attributes: {} });
}

/** The nodes the outputs still depend on. */
function withoutDead(nodes: NodeValue[], outputs: string[]): NodeValue[] {
  const needed = new Set(outputs);
  const kept: NodeValue[] = [];
  for (let k = nodes.length - 1; k >= 0; k--) {
    if (!nodes[k].outputs.some((o) => needed.has(o))) continue;
    kept.push(nodes[k]);
    for (const v of nodes[k].inputs) needed.add(v);
  }
  return kept.reverse();
}
