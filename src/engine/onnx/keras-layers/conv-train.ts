// Convolutions in the training graph: channels last, kernels HWIO as graph inputs, as im2col + MatMul with fused
// backwards (dW = colsᵀ·dY, db = Σ dY, dX the correlation of dY with the flipped kernel).
import { productAtB } from '../transposed-product.js';
import { patchInputGradient, patchify } from './conv-patchify.js';
import { channelsLast, isChannelsFirst, markChannelsFirst } from './channels-first.js';
import { smallConv, smallImage } from './conv-small.js';
import { MIN_CHANNELS, winogradFits } from './conv-winograd.js';
import { winogradConv2d } from './conv-winograd-train.js';
import { type FoldedNorm, depthwiseRows, rowsFit } from './depthwise-rows.js';
import type { Tape } from './tape.js';
import { type Window, im2col, inputGradient, pointwise } from './window.js';

/** A convolution as im2col + MatMul, channels last, kernel HWIO (2-D as [KH·KW·CI, CO]). */
function convForward(t: Tape, x: string, w2d: string, win: Window, ci: number, co: number, bias?: string): { y: string; cols: string } {
  const { g } = t;
  const cols = im2col(g, x, win, ci);
  let y = g.op('MatMul', [cols, w2d], {}, 'conv');
  if (bias) y = g.op('Add', [y, bias], {}, 'conv_bias');
  return { y: g.op('Reshape', [y, g.ints('shape', [-1, win.oh, win.ow, co])], {}, 'conv_out'), cols };
}

/**
 * Conv2D (any stride, 'same' or 'valid', no dilation) with gradients: dW = colsᵀ·dY, db = Σ dY, and dX as the
 * correlation of the (dilated, padded) dY with the flipped kernel, its channels swapped.
 */
export function conv2d(t: Tape, x: string, kernel: string, bias: string | undefined, win: Window, ci: number, co: number): string {
  if (smallImage(win, ci, co)) return smallConv(t, x, kernel, bias, win, ci, co);
  if (t.winograd && winogradFits(win, ci, co, MIN_CHANNELS.train, t.batchSize)) return winogradConv2d(t, x, kernel, bias, win, ci, co);
  const { g } = t;
  const w2d = g.op('Reshape', [kernel, g.ints('shape', [win.kh * win.kw * ci, co])], {}, 'w2d');
  const { y, cols } = convForward(t, x, w2d, win, ci, co, bias);
  t.fuse(y, [x, kernel, bias ?? ''], (dy, wants) => {
    const dy2d = g.op('Reshape', [dy, g.ints('shape', [-1, co])], {}, 'dy2d');
    const dw = wants(1) ? g.op('Reshape', [productAtB(g, cols, dy2d, co, false, 'dW'), g.op('Shape', [kernel])], {}, 'dW_hwio') : undefined;
    const db = wants(2) ? g.op('ReduceSum', [dy2d, g.ints('axis0', [0])], { keepdims: 0 }, 'db') : undefined;
    if (!wants(0)) return [undefined, dw, db];
    // A 1×1 kernel at stride 1 (the expand and project convolutions): dX = dY·Wᵀ, no flipped kernel to build.
    if (pointwise(win)) return [g.op('Reshape', [g.op('Gemm', [dy2d, w2d], { transB: 1 }, 'dX'), g.op('Shape', [x])], {}, 'dX_nhwc'), dw, db];
    if (patchify(win)) return [patchInputGradient(g, dy2d, w2d, win, ci), dw, db];
    const flipped = g.op(
      'Slice',
      [
        g.op('Transpose', [kernel], { perm: [0, 1, 3, 2] }),
        g.ints('starts', [-1, -1]),
        g.ints('ends', [-(win.kh + 1), -(win.kw + 1)]),
        g.ints('axes', [0, 1]),
        g.ints('steps', [-1, -1]),
      ],
      {},
      'w_flipped',
    );
    const w2dBack = g.op('Reshape', [flipped, g.ints('shape', [win.kh * win.kw * co, ci])]);
    return [inputGradient(t, dy, win, co, (dyd, back) => convForward(t, dyd, w2dBack, back, co, ci).y), dw, db];
  });
  return y;
}

/**
 * A 1×1 stride-1 convolution with its input or its output channels first ([C, N·H·W], channels-first.ts): one
 * Gemm either way (Wᵀ·Xᵀ makes the output channels first from NHWC rows, Xᵀ·W NHWC rows from a channels-first
 * input), and its backward's dX and dW Gemms with the operands' transposes as flags: no transposed copy.
 */
export function pointwiseConv(t: Tape, x: string, kernel: string, bias: string | undefined, [h, w, ci]: number[], co: number, outFirst: boolean): string {
  const { g } = t;
  const inFirst = isChannelsFirst(t, x);
  const w2d = g.op('Reshape', [kernel, g.ints('shape', [ci, co])], {}, 'w2d');
  // Channels-first values are [C, N·H·W] already; channels-last ones as rows [N·H·W, C].
  const x2d = inFirst ? x : g.op('Reshape', [x, g.ints('shape', [-1, ci])], {}, 'cols');
  const flags = (transA: boolean, transB: boolean) => ({ ...(transA ? { transA: 1 } : {}), ...(transB ? { transB: 1 } : {}) });
  const product = outFirst ? g.op('Gemm', [w2d, x2d], flags(true, !inFirst), 'conv') : g.op('Gemm', [x2d, w2d], flags(inFirst, false), 'conv');
  const biased = bias ? g.op('Add', [product, outFirst ? g.op('Reshape', [bias, g.ints('shape', [-1, 1])]) : bias], {}, 'conv_bias') : product;
  const y = outFirst ? markChannelsFirst(t, biased, [h, w, co]) : g.op('Reshape', [biased, g.ints('shape', [-1, h, w, co])], {}, 'conv_out');
  t.fuse(y, [x, kernel, bias ?? ''], (dy, wants) => {
    const dy2d = outFirst ? dy : g.op('Reshape', [dy, g.ints('shape', [-1, co])], {}, 'dy2d');
    // dW [CI, CO] = Σ over positions of x·dY: each operand transposed where its positions are not its rows.
    const product = () => (inFirst ? g.op('Gemm', [x2d, dy2d], flags(false, outFirst), 'dW') : productAtB(g, x2d, dy2d, co, outFirst, 'dW'));
    const dw = wants(1) ? g.op('Reshape', [product(), g.op('Shape', [kernel])], {}, 'dW_hwio') : undefined;
    const db = wants(2) ? g.op('ReduceSum', [dy2d, g.ints(outFirst ? 'axis1' : 'axis0', [outFirst ? 1 : 0])], { keepdims: 0 }, 'db') : undefined;
    if (!wants(0)) return [undefined, dw, db];
    if (inFirst) return [g.op('Gemm', [w2d, dy2d], flags(false, !outFirst), 'dX'), dw, db];
    return [g.op('Reshape', [g.op('Gemm', [dy2d, w2d], flags(outFirst, true), 'dX'), g.op('Shape', [x])], {}, 'dX_nhwc'), dw, db];
  });
  return y;
}

/** Depthwise convolution (multiplier 1), channels last, kernel [KH, KW, C, 1]: im2col, multiply, sum the taps. */
export function depthwiseForward(t: Tape, x: string, w2d: string, win: Window, channels: number, bias?: string): { y: string; cols: string } {
  const { g } = t;
  const cols = g.op('Reshape', [im2col(g, x, win, channels), g.ints('shape', [-1, win.kh * win.kw, channels])], {}, 'dw_cols');
  let y = g.op('ReduceSum', [g.op('Mul', [cols, w2d]), g.ints('axis1', [1])], { keepdims: 0 }, 'depthwise');
  if (bias) y = g.op('Add', [y, bias]);
  return { y: g.op('Reshape', [y, g.ints('shape', [-1, win.oh, win.ow, channels])], {}, 'dw_out'), cols };
}

/**
 * DepthwiseConv2D with gradients: over maps up to 128 wide as MatMuls over image rows (depthwise-rows.ts; its output
 * channels first), else im2col; dX correlates the (dilated, padded) dY with the flipped kernel. `norm` (rows form
 * only): a following BatchNormalization folded in.
 */
export function depthwiseConv2d(t: Tape, x: string, kernel: string, bias: string | undefined, win: Window, channels: number, norm?: FoldedNorm): string {
  if (rowsFit(win)) return depthwiseRows(t, x, kernel, bias, win, channels, norm);
  return depthwiseIm2col(t, channelsLast(t, x), kernel, bias, win, channels);
}

function depthwiseIm2col(t: Tape, x: string, kernel: string, bias: string | undefined, win: Window, channels: number): string {
  const { g } = t;
  const w2d = g.op('Reshape', [kernel, g.ints('shape', [win.kh * win.kw, channels])], {}, 'dw_w2d');
  const { y, cols } = depthwiseForward(t, x, w2d, win, channels, bias);
  t.fuse(y, [x, kernel, bias ?? ''], (dy, wants) => {
    const dy3 = g.op('Reshape', [dy, g.ints('shape', [-1, 1, channels])]);
    const dw = wants(1)
      ? g.op('Reshape', [g.op('ReduceSum', [g.op('Mul', [cols, dy3]), g.ints('axis0', [0])], { keepdims: 0 }, 'dW_dw'), g.op('Shape', [kernel])])
      : undefined;
    const db = wants(2) ? g.op('ReduceSum', [g.op('Reshape', [dy, g.ints('shape', [-1, channels])]), g.ints('axis0', [0])], { keepdims: 0 }) : undefined;
    if (!wants(0)) return [undefined, dw, db];
    const flipped = g.op(
      'Slice',
      [w2d, g.ints('starts', [-1]), g.ints('ends', [-(win.kh * win.kw + 1)]), g.ints('axes', [0]), g.ints('steps', [-1])],
      {},
      'dw_flipped',
    );
    return [inputGradient(t, dy, win, channels, (dyd, back) => depthwiseForward(t, dyd, flipped, back, channels).y), dw, db];
  });
  return y;
}
