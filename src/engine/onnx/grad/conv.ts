// Gradient of Conv (any spatial rank, groups incl. depthwise, strides, dilations, pads, auto_pad), channels
// first as ONNX has it. dX is a ConvTranspose of dY with the same weights; dW is a convolution with the roles
// swapped (the input's channels as the batch, dY as the kernel, strides and dilations exchanged), both run by
// ORT's own convolution kernels.
import { type GradRule, reduceSum, staticDims } from './context.js';
import { transposedWindow } from './pool.js';
import { attr, windowOf } from './shapes.js';

const conv: GradRule = (c) => {
  const { g, node } = c;
  const [x, w, bias] = node.inputs;
  const dy = c.dy() as string;
  const xDims = staticDims(c, x, 'the channels and spatial size', 1);
  const wDims = staticDims(c, w, 'the kernel shape');
  const r = xDims.length - 2;
  const group = attr(node, 'group', 1);
  const win = windowOf(node, ['N', ...xDims.slice(1)], wDims);
  const outSpatial = win.out as number[];
  const rest = Array.from({ length: r }, (_, i) => i + 2);
  const dx = c.wants(0) ? transposedWindow(g, dy, w, group, win, xDims.slice(2), 'dX') : undefined;
  let dw: string | undefined;
  if (c.wants(1)) {
    const [, channels, ...spatial] = xDims;
    const perGroup = channels / group;
    // x' [C/G, G·N, *S]: groups of the batch beside each other, one group per output-channel block.
    const xSwapped =
      group === 1
        ? g.op('Transpose', [x], { perm: [1, 0, ...rest] }, 'x_swapped')
        : g.op(
            'Reshape',
            [
              g.op('Transpose', [g.op('Reshape', [x, g.ints('shape', [-1, group, perGroup, ...spatial])])], { perm: [2, 1, 0, ...rest.map((a) => a + 1)] }),
              g.ints('shape', [perGroup, -1, ...spatial]),
            ],
            {},
            'x_swapped',
          );
    const dySwapped = g.op('Transpose', [dy], { perm: [1, 0, ...rest] }, 'dy_swapped');
    const full = g.op('Conv', [xSwapped, dySwapped], { group, strides: win.dilations, dilations: win.strides, pads: win.pads }, 'dW_full');
    // The swapped convolution can reach past the kernel (rows the forward stride skipped): keep the kernel's extent.
    const reach = spatial.map((s, i) => Math.floor((s + win.pads[i] + win.pads[i + r] - (win.strides[i] * (outSpatial[i] - 1) + 1)) / win.dilations[i]) + 1);
    const cropped = reach.some((k, i) => k !== win.kernel[i])
      ? g.op(
          'Slice',
          [
            full,
            g.ints(
              'starts',
              rest.map(() => 0),
            ),
            g.ints('ends', win.kernel),
            g.ints('axes', rest),
          ],
          {},
          'dW_crop',
        )
      : full;
    dw = g.op('Transpose', [cropped], { perm: [1, 0, ...rest] }, 'dW');
  }
  const db = bias && c.wants(2) ? reduceSum(g, dy, [0, ...rest], 0, 'db') : undefined;
  return [dx, dw, db];
};

export const convRules: Record<string, GradRule> = { Conv: conv };
