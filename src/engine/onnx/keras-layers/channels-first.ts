// The channels-first layout of the training graph: [C, N·H·W] (memory order c, n, h, w), the layout the depthwise
// rows form works in. An inverted-residual block (MobileNetV2's, EfficientNet's MBConv) keeps its expanded part in
// it from the 1×1 expand convolution (Wᵀ·Xᵀ, one Gemm) through BatchNormalization, the activations, the depthwise
// convolution and squeeze-excite to the 1×1 project convolution (Xᵀ·W): the four transposes of the expanded
// tensor a block paid around each depthwise convolution (forward and backward) are gone. Values in this layout are
// tagged on the tape; a layer rule that does not take them gets them back channels last (one transpose, once).
import type { GraphBuilder } from '../graph.js';
import type { Tape } from './tape.js';

/** NHWC [N, H, W, C] → [C, N·H·W]: one 2-D transpose. */
export function toChannelsFirst(g: GraphBuilder, x: string, channels: number): string {
  return g.op('Transpose', [g.op('Reshape', [x, g.ints('shape', [-1, channels])])], { perm: [1, 0] }, 'to_cf');
}

/** [C, N·H·W] → NHWC [N, H, W, C]. */
export function toChannelsLast(g: GraphBuilder, x: string, [h, w, c]: number[]): string {
  return g.op('Reshape', [g.op('Transpose', [x], { perm: [1, 0] }), g.ints('shape', [-1, h, w, c])], {}, 'to_nhwc');
}

/** Whether `x` is held channels first. */
export const isChannelsFirst = (t: Tape, x: string): boolean => t.channelsFirst.has(x);

/** Tags `x` as channels first, of NHWC shape `shape` (without the batch); returns it. */
export function markChannelsFirst(t: Tape, x: string, shape: number[]): string {
  t.channelsFirst.set(x, shape);
  return x;
}

/** `x` channels last: itself, or its channels-first value transposed (once, however many layers read it). */
export function channelsLast(t: Tape, x: string): string {
  const shape = t.channelsFirst.get(x);
  if (!shape) return x;
  let y = t.nhwcOf.get(x);
  if (!y) {
    y = toChannelsLast(t.g, x, shape);
    t.nhwcOf.set(x, y);
  }
  return y;
}

/**
 * The operands of an elementwise join with a channels-first value among them: those as [C, N, H·W], and
 * per-example channel vectors (squeeze-excite's scales, NHWC [N, 1, 1, C]) as [C, N, 1]; with the result's NHWC
 * shape. Null where no operand is channels first or another kind takes part (the join then runs channels last).
 */
export function channelsFirstOperands(t: Tape, xs: string[], shapes: number[][]): { operands: string[]; shape: number[] } | null {
  const shape = xs.map((x) => t.channelsFirst.get(x)).find((s) => s);
  if (!shape) return null;
  const [h, w, c] = shape;
  const { g } = t;
  const operands: string[] = [];
  for (const [i, x] of xs.entries()) {
    const s = t.channelsFirst.get(x);
    if (s && s.join() === shape.join()) operands.push(g.op('Reshape', [x, g.ints('shape', [c, -1, h * w])]));
    else if (!s && shapes[i].join() === [1, 1, c].join()) {
      const rows = g.op('Transpose', [g.op('Reshape', [x, g.ints('shape', [-1, c])])], { perm: [1, 0] });
      operands.push(g.op('Reshape', [rows, g.ints('shape', [c, -1, 1])], {}, 'channel_column'));
    } else return null;
  }
  return { operands, shape };
}
