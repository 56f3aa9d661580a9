// Gradient of Conv (any spatial rank, groups incl. depthwise, strides, dilations, pads, auto_pad), channels
// first as ONNX has it, every product run by ORT's own Conv/MatMul kernels. Forms chosen by measurement on 2 CPU
// cores (notes/issue-16a.md): dX at stride 1 is a convolution of dY with the flipped, channel-swapped kernel
// (1.6× faster than ConvTranspose), at larger strides a ConvTranspose; dW of a 1×1 kernel is one batched MatMul
// (3× faster), of larger kernels a convolution with the roles swapped (the input's channels as the batch, dY as
// the kernel, strides and dilations exchanged). A patchify Conv (kernel = stride, no pads: ConvNeXt's downsampling,
// ViT's patch embedding) tiles its input, so both gradients are single Gemms over the patches (ConvNeXt-Tiny's
// 2×2 downsampling at batch 8: 44 → 29 CPU-ms against the swapped convolution and ConvTranspose). ConvTranspose's gradients are
// those of its adjoint Conv, Col2Im's a Conv that unfolds.
import type { GraphBuilder } from '../graph.js';
import { productAtB } from '../transposed-product.js';
import { type GradRule, constInts, reduceSum, staticDims, unsupported } from './context.js';
import { transposedWindow } from './pool.js';
import { attr } from './dims.js';
import { windowOf } from './window-shapes.js';

type Window = ReturnType<typeof windowOf>;
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);

/** dX at stride 1: Conv(dY, W flipped with in/out channels swapped per group), padded so dX has X's extent. */
function inputGradStride1(g: GraphBuilder, dy: string, w: string, wDims: number[], group: number, win: Window): string {
  const r = win.kernel.length;
  const [m, perGroup] = wDims;
  const rest = range(r, 2);
  // [M, C/G, *K] → [G, M/G, C/G, *K] → [G, C/G, M/G, *K] → [C, M/G, *K], then every spatial axis reversed.
  const swapped =
    group === 1
      ? g.op('Transpose', [w], { perm: [1, 0, ...rest] })
      : g.op('Reshape', [
          g.op('Transpose', [g.op('Reshape', [w, g.ints('shape', [group, m / group, perGroup, ...win.kernel])])], { perm: [0, 2, 1, ...range(r, 3)] }),
          g.ints('shape', [group * perGroup, m / group, ...win.kernel]),
        ]);
  const flipped = g.op(
    'Slice',
    [
      swapped,
      g.ints('starts', new Array(r).fill(-1)),
      g.ints(
        'ends',
        win.kernel.map((k) => -(k + 1)),
      ),
      g.ints('axes', rest),
      g.ints('steps', new Array(r).fill(-1)),
    ],
    {},
    'w_flipped',
  );
  const pads = [
    ...range(r).map((i) => (win.kernel[i] - 1) * win.dilations[i] - win.pads[i]),
    ...range(r).map((i) => (win.kernel[i] - 1) * win.dilations[i] - win.pads[i + r]),
  ];
  return g.op('Conv', [dy, flipped], { group, dilations: win.dilations, pads, kernel_shape: win.kernel }, 'dX');
}

/** dW by a convolution of x' [C/G, G·N, *S] with dY' [M, N, *OS]: groups of the batch side by side. */
function weightGradSwapped(g: GraphBuilder, x: string, dy: string, xDims: number[], group: number, win: Window): string {
  const [, channels, ...spatial] = xDims;
  const r = spatial.length;
  const rest = range(r, 2);
  const perGroup = channels / group;
  const xSwapped =
    group === 1
      ? g.op('Transpose', [x], { perm: [1, 0, ...rest] }, 'x_swapped')
      : g.op(
          'Reshape',
          [
            g.op('Transpose', [g.op('Reshape', [x, g.ints('shape', [-1, group, perGroup, ...spatial])])], { perm: [2, 1, 0, ...range(r, 3)] }),
            g.ints('shape', [perGroup, -1, ...spatial]),
          ],
          {},
          'x_swapped',
        );
  const dySwapped = g.op('Transpose', [dy], { perm: [1, 0, ...rest] }, 'dy_swapped');
  const full = g.op('Conv', [xSwapped, dySwapped], { group, strides: win.dilations, dilations: win.strides, pads: win.pads }, 'dW_full');
  // The swapped convolution can reach past the kernel (rows the forward stride skipped): keep the kernel's extent.
  const outs = win.out as number[];
  const reach = spatial.map((s, i) => Math.floor((s + win.pads[i] + win.pads[i + r] - (win.strides[i] * (outs[i] - 1) + 1)) / win.dilations[i]) + 1);
  const cropped = reach.some((k, i) => k !== win.kernel[i])
    ? g.op('Slice', [full, g.ints('starts', new Array(r).fill(0)), g.ints('ends', win.kernel), g.ints('axes', rest)], {}, 'dW_crop')
    : full;
  return g.op('Transpose', [cropped], { perm: [1, 0, ...rest] }, 'dW');
}

/** Whether the Conv tiles its input exactly with non-overlapping patches: one group, kernel = stride, no pads or dilation. */
const tiles = (group: number, win: Window, spatial: number[]) =>
  group === 1 &&
  win.kernel.every((k, i) => k === win.strides[i] && win.dilations[i] === 1 && spatial[i] === k * (win.out[i] as number)) &&
  win.pads.every((p) => p === 0);

/**
 * Both gradients of a patchify Conv as Gemms: X as patches P [N·ΠO, C·Πk] (rows = output positions), dY as
 * [N·ΠO, M], W as [M, C·Πk]: dW = dYᵀ·P, dP = dY·W, dP folded back into X's layout.
 */
function patchGrads(g: GraphBuilder, x: string, w: string, dy: string, xDims: number[], wDims: number[], win: Window, wants: [boolean, boolean]) {
  const [, channels, ...spatial] = xDims;
  const [m] = wDims;
  const r = spatial.length;
  const outs = win.out as number[];
  const cols = channels * win.kernel.reduce((a, b) => a * b, 1);
  // [N, C, O₁, k₁, …] ↔ [N, O₁…, C, k₁…]
  const split = [-1, channels, ...range(r).flatMap((i) => [outs[i], win.kernel[i]])];
  const toRows = [0, ...range(r).map((i) => 2 + 2 * i), 1, ...range(r).map((i) => 3 + 2 * i)];
  const dyRows = g.op('Reshape', [g.op('Transpose', [dy], { perm: [0, ...range(r, 2), 1] }), g.ints('shape', [-1, m])], {}, 'dy_rows');
  let dx: string | undefined;
  let dw: string | undefined;
  if (wants[0]) {
    const dp = g.op('Gemm', [dyRows, g.op('Reshape', [w, g.ints('shape', [m, cols])])], {}, 'dpatches');
    const fromRows = [0, r + 1, ...range(r).flatMap((i) => [1 + i, r + 2 + i])];
    const unfolded = g.op('Reshape', [dp, g.ints('shape', [-1, ...outs, channels, ...win.kernel])]);
    dx = g.op('Reshape', [g.op('Transpose', [unfolded], { perm: fromRows }), g.ints('shape', [-1, channels, ...spatial])], {}, 'dX');
  }
  if (wants[1]) {
    const patches = g.op(
      'Reshape',
      [g.op('Transpose', [g.op('Reshape', [x, g.ints('shape', split)])], { perm: toRows }), g.ints('shape', [-1, cols])],
      {},
      'patches',
    );
    dw = g.op('Reshape', [productAtB(g, dyRows, patches, cols, false, 'gemm'), g.ints('shape', wDims)], {}, 'dW');
  }
  return { dx, dw };
}

const conv: GradRule = (c) => {
  const { g, node } = c;
  const [x, w, bias] = node.inputs;
  const dy = c.dy() as string;
  const xDims = staticDims(c, x, 'the channels and spatial size', 1);
  const wDims = staticDims(c, w, 'the kernel shape');
  const r = xDims.length - 2;
  const group = attr(node, 'group', 1);
  const win = windowOf(node, ['N', ...xDims.slice(1)], wDims);
  const unit = (v: number[]) => v.every((s) => s === 1);
  const db = bias && c.wants(2) ? reduceSum(g, dy, [0, ...range(r, 2)], 0, 'db') : undefined;
  if (tiles(group, win, xDims.slice(2))) {
    const { dx, dw } = patchGrads(g, x, w, dy, xDims, wDims, win, [c.wants(0), c.wants(1)]);
    return [dx, dw, db];
  }
  let dx: string | undefined;
  if (c.wants(0)) {
    const padsFit = range(r).every((i) => win.pads[i] <= (win.kernel[i] - 1) * win.dilations[i] && win.pads[i + r] <= (win.kernel[i] - 1) * win.dilations[i]);
    dx = unit(win.strides) && padsFit ? inputGradStride1(g, dy, w, wDims, group, win) : transposedWindow(g, dy, w, group, win, xDims.slice(2), 'dX');
  }
  let dw: string | undefined;
  if (c.wants(1)) {
    if (group === 1 && unit(win.kernel) && unit(win.strides) && win.pads.every((p) => p === 0)) {
      // 1×1: dW[M, C] = Σₙ dYₙ·Xₙᵀ over flattened positions.
      const [m, channels] = wDims;
      const flat = (v: string, k: number) => g.op('Reshape', [v, g.ints('shape', [0, k, -1])]);
      const products = g.op('MatMul', [flat(dy, m), g.op('Transpose', [flat(x, channels)], { perm: [0, 2, 1] })]);
      dw = g.op('Reshape', [reduceSum(g, products, [0], 0), g.ints('shape', wDims)], {}, 'dW');
    } else dw = weightGradSwapped(g, x, dy, xDims, group, win);
  }
  return [dx, dw, db];
};

/**
 * ConvTranspose is the adjoint of the Conv with the same weight and attributes (which maps its output back to its
 * input's shape): dX is that Conv of dY, and dW that Conv's weight gradient with dY as its input and X as its
 * output's gradient.
 */
const convTranspose: GradRule = (c) => {
  const { g, node } = c;
  const [x, w, bias] = node.inputs;
  const dy = c.dy() as string;
  if (attr(node, 'auto_pad', 'NOTSET') !== 'NOTSET' || attr<number[] | undefined>(node, 'output_shape', undefined))
    throw unsupported(node, 'auto_pad or output_shape (explicit pads only, as PyTorch exports it)');
  const xDims = staticDims(c, x, 'the channels and spatial size', 1);
  const yDims = staticDims(c, node.outputs[0], 'the output channels and spatial size', 1);
  const wDims = staticDims(c, w, 'the kernel shape');
  const r = xDims.length - 2;
  const group = attr(node, 'group', 1);
  const kernel = attr(node, 'kernel_shape', wDims.slice(2));
  const win = {
    spatial: yDims.slice(2),
    kernel,
    strides: attr(node, 'strides', new Array(r).fill(1)),
    dilations: attr(node, 'dilations', new Array(r).fill(1)),
    pads: attr(node, 'pads', new Array(2 * r).fill(0)),
    out: xDims.slice(2),
  };
  const dx = c.wants(0)
    ? g.op('Conv', [dy, w], { group, strides: win.strides, dilations: win.dilations, pads: win.pads, kernel_shape: kernel }, 'dX')
    : undefined;
  const dw = c.wants(1) ? weightGradSwapped(g, dy, x, yDims, group, win) : undefined;
  const db = bias && c.wants(2) ? reduceSum(g, dy, [0, ...range(r, 2)], 0, 'db') : undefined;
  return [dx, dw, db];
};

/**
 * Col2Im (torch's fold) sums blocks back into an image; its adjoint is unfold: a depthwise Conv of dY with one-hot
 * kernels, output channel c·K + k reading offset k of the block (the column layout [N, C·K, L]).
 */
const col2Im: GradRule = (c) => {
  const { g, node } = c;
  const x = node.inputs[0];
  const block = constInts(c, 2) as number[];
  const k = block.reduce((a, b) => a * b, 1);
  const channels = staticDims(c, x, 'the column channels', 1)[1] / k;
  const r = block.length;
  const onehot = new Float32Array(channels * k * k);
  for (let ch = 0; ch < channels; ch++) for (let j = 0; j < k; j++) onehot[(ch * k + j) * k + j] = 1;
  const attributes = {
    group: channels,
    kernel_shape: block,
    strides: attr(node, 'strides', new Array(r).fill(1)),
    dilations: attr(node, 'dilations', new Array(r).fill(1)),
    pads: attr(node, 'pads', new Array(2 * r).fill(0)),
  };
  const columns = g.op('Conv', [c.dy() as string, g.constant('unfold', onehot, [channels * k, 1, ...block])], attributes, 'unfold');
  return [g.op('Reshape', [columns, g.ints('shape', [0, channels * k, -1])], {}, 'dcol2im')];
};

export const convRules: Record<string, GradRule> = { Conv: conv, ConvTranspose: convTranspose, Col2Im: col2Im };
