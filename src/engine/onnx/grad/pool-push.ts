// A rewrite of a step's forward graph before it is differentiated: the global average pool moved up through the
// linear ops before it. ConvNeXt's last block ends x + γ·(h·W2 + b2) and the head takes the mean over all
// positions; the mean commutes with every op that acts on each position alike and linearly, so
// mean(x + γ·(h·W2 + b2)) = mean(x) + γ·(mean(h)·W2 + b2): the last pointwise Dense (its forward, weight gradient and
// input gradient) runs on one row per image instead of 49, and the gradient flowing back to h is that row spread
// over the positions (the ReduceMean rule). The mean moves through each op by its rule (pool-rules.ts) and stops at
// the first that is not linear per position, and at values other readers need whole (they are pooled there by a
// new ReduceMean). Results equal the unrewritten step's up to float reassociation.
import type { GraphBuilder } from '../graph.js';
import type { NodeValue } from '../proto.js';
import { FLOATS, type ValueFacts, attr, normAxis } from './dims.js';
import { POOL_RULES, type Pool } from './pool-rules.js';
import { inferShapes } from './shapes.js';

/** The value a GlobalAveragePool or a ReduceMean over constant axes averages, and over which axes. */
function poolOf(node: NodeValue, facts: Map<string, ValueFacts>): { x: string; pool: Pool } | undefined {
  const x = node.inputs[0];
  const info = facts.get(x);
  if ((node.domain ?? '') !== '' || !info?.dims || !FLOATS.has(info.type)) return undefined;
  const rank = info.dims.length;
  if (node.opType === 'GlobalAveragePool' && rank >= 3) return { x, pool: { axes: Array.from({ length: rank - 2 }, (_, i) => i + 2), keepdims: true } };
  if (node.opType !== 'ReduceMean') return undefined;
  const axes = node.inputs[1] ? facts.get(node.inputs[1])?.ints : attr<number[] | undefined>(node, 'axes', undefined);
  if (!axes?.length || axes.some((a) => typeof a !== 'number')) return undefined;
  const sorted = [...new Set((axes as number[]).map((a) => normAxis(a, rank)))].sort((a, b) => a - b);
  return { x, pool: { axes: sorted, keepdims: attr(node, 'keepdims', 1) === 1 } };
}

/**
 * Rewrites `g`'s nodes in place: each global average pool moved up as far as its rules take it, where that passes
 * a MatMul (only then is there work saved). `keep`: values read outside the graph's nodes (its outputs,
 * values fused backwards hold), never rewritten. True where anything changed.
 */
export function pushPools(g: GraphBuilder, opset: number, keep: Iterable<string>, facts?: Map<string, ValueFacts>): boolean {
  const nodes = g.graph().nodes;
  if (!nodes.some((n) => n.opType === 'GlobalAveragePool' || n.opType === 'ReduceMean')) return false;
  const known = facts ?? inferShapes(g.graph());
  const held = new Set([...keep, ...g.graph().outputs.map((o) => o.name)]);
  let changed = false;
  for (const node of [...nodes]) {
    const found = poolOf(node, known);
    if (found) changed = pushPool(g, node, found, known, opset, held) || changed;
  }
  return changed;
}

function pushPool(
  g: GraphBuilder,
  pool: NodeValue,
  found: { x: string; pool: Pool },
  facts: Map<string, ValueFacts>,
  opset: number,
  held: Set<string>,
): boolean {
  const nodes = g.graph().nodes;
  const reads = new Map<string, number>();
  const producers = new Map<string, NodeValue>();
  for (const n of nodes) {
    for (const v of n.inputs) reads.set(v, (reads.get(v) ?? 0) + 1);
    for (const o of n.outputs) producers.set(o, n);
  }
  const emitted: NodeValue[] = [];
  const removed = new Set<NodeValue>();
  const means = new Map<string, string>();
  const axesOf = new Map<NodeValue, number[]>();
  const dims = (v: string) => facts.get(v)?.dims;

  const mean = (v: string, p: Pool): string => {
    const key = `${v}|${p.axes}|${p.keepdims}`;
    const known = means.get(key);
    if (known) return known;
    const out = g.fresh(`${v}_mean`);
    const keepdims = { keepdims: p.keepdims ? 1 : 0 };
    // Axes an input from opset 18 (made once the rewrite is kept), an attribute before.
    const node = {
      opType: 'ReduceMean',
      name: g.fresh(`${v}_mean_node`),
      inputs: [v],
      outputs: [out],
      attributes: opset >= 18 ? keepdims : { axes: p.axes, ...keepdims },
    };
    if (opset >= 18) axesOf.set(node, p.axes);
    emitted.push(node);
    means.set(key, out);
    return out;
  };
  const push = (v: string, p: Pool): string => {
    const node = producers.get(v);
    const movable =
      node &&
      reads.get(v) === 1 &&
      !held.has(v) &&
      (node.domain ?? '') === '' &&
      node.outputs.slice(1).every((o) => !o || !reads.has(o)) &&
      Object.hasOwn(POOL_RULES, node.opType);
    const plan = movable ? POOL_RULES[node.opType]({ node, pool: p, dims }) : undefined;
    if (!node || !plan) return mean(v, p);
    const inputs = node.inputs.map((x, i) => {
      const demand = plan.inputs[i];
      return !x || demand === 'as-is' ? x : push(x, demand);
    });
    removed.add(node);
    const out = g.fresh(`${v}_pooled`);
    emitted.push({ ...node, name: g.fresh(`${node.name}_pooled`), inputs, outputs: [out], attributes: plan.attributes ?? node.attributes });
    return out;
  };

  push(found.x, found.pool);
  // Nothing saved unless a product moved: the graph stays as it was (the emitted nodes are never placed).
  if (![...removed].some((n) => n.opType === 'MatMul')) return false;
  for (const [node, axes] of axesOf) node.inputs.push(g.ints('axes', axes));
  // The last node emitted is the pushed pool's: it takes the pool's output name.
  emitted[emitted.length - 1].outputs = [pool.outputs[0]];
  const kept = nodes.filter((n) => !removed.has(n));
  const at = kept.indexOf(pool);
  kept.splice(at, 1, ...emitted);
  nodes.splice(0, nodes.length, ...kept);
  return true;
}
