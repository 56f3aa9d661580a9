// The inference graph's zero padding folded into the convolution after it (MobileNetV2's ZeroPadding2D before each
// strided depthwise convolution): a Pad breaks ORT's blocked (NCHWc) convolution layout, so the whole feature map was
// reordered out, padded and reordered back in (~30% of MobileNetV2's forward kernel time); a Conv pads for free.
import { tensorInts } from './grad/dims.js';
import type { GraphValue, NodeValue } from './proto.js';

/** An integer initializer's values, or undefined when `name` is not one. */
function ints(graph: GraphValue, name: string): number[] | undefined {
  const t = graph.initializers.find((i) => i.name === name);
  return t && (tensorInts(t) as number[] | undefined);
}

/** The Conv's padding [top, left, bottom, right] taken from a zero Pad of height and width only, or null. */
function spatialPads(graph: GraphValue, pad: NodeValue): number[] | null {
  const mode = pad.attributes.mode ?? 'constant';
  if (mode !== 'constant' || pad.inputs.length !== 2) return null;
  const p = ints(graph, pad.inputs[1]);
  if (p?.length !== 8 || p[0] || p[1] || p[4] || p[5]) return null;
  return [p[2], p[3], p[6], p[7]];
}

/** Folds each zero Pad of an NCHW map whose one use is a 'VALID' Conv's input into that Conv's pads (in place). */
export function foldPadsIntoConvs(graph: GraphValue): void {
  const uses = new Map<string, NodeValue[]>();
  for (const n of graph.nodes)
    for (const i of n.inputs) {
      const readers = uses.get(i);
      if (readers) readers.push(n);
      else uses.set(i, [n]);
    }
  const outputs = new Set(graph.outputs.map((o) => o.name));
  for (const pad of graph.nodes.filter((n) => n.opType === 'Pad')) {
    const [conv, ...others] = uses.get(pad.outputs[0]) ?? [];
    if (!conv || others.length || outputs.has(pad.outputs[0]) || conv.opType !== 'Conv' || conv.inputs[0] !== pad.outputs[0]) continue;
    if (conv.attributes.auto_pad !== 'VALID') continue;
    const pads = spatialPads(graph, pad);
    if (!pads) continue;
    conv.inputs[0] = pad.inputs[0];
    delete conv.attributes.auto_pad;
    conv.attributes.pads = pads;
    graph.nodes.splice(graph.nodes.indexOf(pad), 1);
    // Its pads constant, now unused, would draw a warning from ONNX Runtime.
    if ((uses.get(pad.inputs[1]) ?? []).length === 1)
      graph.initializers.splice(
        graph.initializers.findIndex((i) => i.name === pad.inputs[1]),
        1,
      );
  }
}
