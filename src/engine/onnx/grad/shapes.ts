// Static shape and type inference over a forward ONNX graph, for the gradient rules that need shapes: one rule per
// op type (shapes-*.ts), over the dim algebra of dims.ts. Ops without a rule give unknown facts.
import type { GraphValue } from '../proto.js';
import { Elem, type ValueFacts, tensorFloats, tensorInts } from './dims.js';
import { type ShapeRule, shapeCall } from './shape-rule.js';
import { elementwiseShapes } from './shapes-elementwise.js';
import { linearShapes } from './shapes-linear.js';
import { movementShapes } from './shapes-movement.js';
import { valueShapes } from './shapes-values.js';

export const SHAPE_RULES: Readonly<Record<string, ShapeRule>> = { ...elementwiseShapes, ...valueShapes, ...linearShapes, ...movementShapes };

/** Facts about every value of `graph` (nodes in topological order). */
export function inferShapes(graph: GraphValue): Map<string, ValueFacts> {
  const facts = new Map<string, ValueFacts>();
  for (const i of graph.inputs) facts.set(i.name, { dims: i.dims, type: Elem.FLOAT });
  for (const t of graph.initializers) facts.set(t.name, { dims: t.dims, type: t.dataType, ints: tensorInts(t), floats: tensorFloats(t) });
  for (const node of graph.nodes) {
    const rule = Object.hasOwn(SHAPE_RULES, node.opType) ? SHAPE_RULES[node.opType] : undefined;
    const outs = rule ? rule(shapeCall(node, (v) => facts.get(v))) : node.outputs.map(() => undefined);
    node.outputs.forEach((o, i) => {
      if (o) facts.set(o, outs[i] ?? { type: outs[0]?.type ?? Elem.FLOAT });
    });
  }
  return facts;
}
