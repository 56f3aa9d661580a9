// A rewrite of the forward graph before it is differentiated: a depthwise Conv over an input hardly larger than
// its kernel (ConvNeXt's 7×7 convolutions on the 7×7 maps of its last stage) becomes, per channel, a dense map of
// the input positions to the output ones, T [C, S, O] = W [C, K] · one-hot [K, S·O], applied by a batched MatMul.
// ONNX Runtime runs such a Conv as one im2col and one tiny GEMM per channel whatever its shape; as MatMuls the
// forward pass and both gradients (from the MatMul and Reshape rules) take a fraction of the time
// (ConvNeXt-Tiny's last-2-blocks step at batch 8: Conv nodes 25% → 1% of its kernel time, 639 → 457 CPU-ms).
import { GraphBuilder } from '../graph.js';
import type { GraphValue, NodeValue } from '../proto.js';
import { type ValueFacts, attr } from './dims.js';
import { windowOf } from './window-shapes.js';

type Window = ReturnType<typeof windowOf>;
const count = (v: number[]) => v.reduce((a, b) => a * b, 1);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The Conv's geometry where it qualifies: one channel per group, static dims, input at most twice the kernel's size. */
function denseWindow(node: NodeValue, facts: Map<string, ValueFacts>): { channels: number; spatial: number[]; win: Window } | undefined {
  if (node.opType !== 'Conv' || (node.domain ?? '') !== '') return undefined;
  const [xDims, wDims] = [facts.get(node.inputs[0])?.dims, facts.get(node.inputs[1])?.dims];
  if (!xDims || !wDims || [...xDims.slice(1), ...wDims].some((d) => typeof d !== 'number')) return undefined;
  const [, channels, ...spatial] = xDims as number[];
  const group = attr(node, 'group', 1);
  if (group !== channels || wDims[0] !== channels || wDims[1] !== 1) return undefined;
  const win = windowOf(node, ['N', channels, ...spatial], wDims as number[]);
  const size = count(spatial);
  return size <= 2 * count(win.kernel) && size * count(win.out as number[]) <= 4096 ? { channels, spatial, win } : undefined;
}

/** One-hot [K, S·O]: kernel offset k feeds input position s into output position o (none where it lands in the padding). */
function tapMap(spatial: number[], win: Window): Float32Array {
  const outs = win.out as number[];
  const [taps, inputs, outputs] = [count(win.kernel), count(spatial), count(outs)];
  const at = (flat: number, dims: number[]) => dims.map((_, i) => Math.floor(flat / count(dims.slice(i + 1))) % dims[i]);
  const map = new Float32Array(taps * inputs * outputs);
  for (let o = 0; o < outputs; o++)
    for (let k = 0; k < taps; k++) {
      const [op, kp] = [at(o, outs), at(k, win.kernel)];
      const pos = range(spatial.length).map((i) => op[i] * win.strides[i] - win.pads[i] + kp[i] * win.dilations[i]);
      if (pos.every((p, i) => p >= 0 && p < spatial[i])) map[k * inputs * outputs + pos.reduce((a, p, i) => a * spatial[i] + p, 0) * outputs + o] = 1;
    }
  return map;
}

/** The Conv as MatMuls; returns the value holding its result. */
function emitDense(g: GraphBuilder, node: NodeValue, { channels, spatial, win }: NonNullable<ReturnType<typeof denseWindow>>): string {
  const [x, w, bias] = node.inputs;
  const [taps, inputs, outputs] = [count(win.kernel), count(spatial), count(win.out as number[])];
  const kernel = g.op('Reshape', [w, g.ints('shape', [channels, taps])]);
  const dense = g.op('MatMul', [kernel, g.constant('dense_taps', tapMap(spatial, win), [taps, inputs * outputs])]);
  const t = g.op('Reshape', [dense, g.ints('shape', [channels, inputs, outputs])], {}, 'dense_map');
  const xc = g.op('Transpose', [g.op('Reshape', [x, g.ints('shape', [-1, channels, inputs])])], { perm: [1, 0, 2] });
  const yc = g.op('Transpose', [g.op('MatMul', [xc, t])], { perm: [1, 0, 2] });
  const y = g.op('Reshape', [yc, g.ints('shape', [-1, channels, ...(win.out as number[])])], {}, 'dense_conv');
  return bias ? g.op('Add', [y, g.op('Reshape', [bias, g.ints('shape', [channels, ...spatial.map(() => 1)])])], {}, 'dense_conv') : y;
}

/** `graph` with every qualifying depthwise Conv replaced in place, or `graph` itself where none qualifies. */
export function denseDepthwise(graph: GraphValue, facts: Map<string, ValueFacts>): GraphValue {
  const found = graph.nodes.map((n) => denseWindow(n, facts));
  if (!found.some(Boolean)) return graph;
  const g = new GraphBuilder(graph.name);
  g.adopt(graph);
  const built = g.graph().nodes;
  const nodes: NodeValue[] = [];
  graph.nodes.forEach((node, i) => {
    const geometry = found[i];
    if (!geometry) return nodes.push(node);
    const from = built.length;
    const result = emitDense(g, node, geometry);
    // Its last node writes the Conv's own output, so the nodes reading it stay as they are.
    const added = built.splice(from);
    for (const n of added) n.outputs = n.outputs.map((o) => (o === result ? node.outputs[0] : o));
    nodes.push(...added);
  });
  return { ...graph, nodes, initializers: g.graph().initializers };
}
