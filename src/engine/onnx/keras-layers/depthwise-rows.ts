// Depthwise convolution for training as batched MatMuls over image rows, channels first: each output row is the
// product of the K input rows its window covers ([K·W] values per channel) with a per-channel banded matrix
// B [K·W, OW] holding the kernel's taps. im2col copies every input pixel K·K times and then multiplies and sums
// them in two more full passes; here the gathered rows are K copies and the multiply-and-sum is one MatMul. dX is
// the same form over dY, its stride's dilation and its padding as row indices (into one zero row) and band
// positions. Values come in and go out channels first (channels-first.ts): no transposes inside an MBConv block.
// Measured at batch 8, 3×3 kernels (forward, dX and dW together, CPU-ms at 1 thread, a loaded machine): 7×7×1536
// (EfficientNetV2-S's block 6) 13.6 → 8.8, 14×14×960 39 → 22, 28×28×192 27 → 18, 56×56×144 133 → 64,
// 112×112×32 139 → 69.
import type { GraphBuilder } from '../graph.js';
import { isChannelsFirst, markChannelsFirst, toChannelsFirst, toChannelsLast } from './channels-first.js';
import type { Tape } from './tape.js';
import type { Window } from './window.js';

/**
 * Whether the rows form applies: B holds K·W·OW values per channel and costs K·W multiply-adds per output (im2col:
 * K·K), so it is bounded by the map's width — up to 128 (measured 2× faster than im2col at 112).
 */
export const rowsFit = (win: Window): boolean => win.w * win.ow <= 128 * 128;

/**
 * [taps, K·W·OW]: tap t of the kernel lands at B[(i, w'), ow] (w' an input column; padding columns left out; with
 * `dilation`, input column w' stands at w'·dilation: dY's columns in dX's correlation, the zeros between left out).
 */
function bandMap(win: Window, flip: boolean, dilation = 1): Float32Array {
  const { kh, kw, w, ow, stride } = win;
  const cols = kh * w * ow;
  const map = new Float32Array(kh * kw * cols);
  for (let i = 0; i < kh; i++)
    for (let x = 0; x < w; x++)
      for (let o = 0; o < ow; o++) {
        const j = x * dilation - o * stride + win.pads[2];
        if (j < 0 || j >= kw) continue;
        const tap = flip ? (kh - 1 - i) * kw + (kw - 1 - j) : i * kw + j;
        map[tap * cols + (i * w + x) * ow + o] = 1;
      }
  return map;
}

/** The kernel's taps [taps, C] spread into B [C, K·W, OW] (flipped: the transposed correlation's kernel). */
function band(g: GraphBuilder, w2d: string, win: Window, channels: number, flip: boolean, dilation: number): string {
  const taps = win.kh * win.kw;
  const map = g.constant(flip ? 'dw_band_flipped' : 'dw_band', bandMap(win, flip, dilation), [taps, win.kh * win.w * win.ow]);
  const spread = g.op('MatMul', [g.op('Transpose', [w2d], { perm: [1, 0] }), map]);
  return g.op('Reshape', [spread, g.ints('shape', [channels, win.kh * win.w, win.ow])], {}, 'dw_band');
}

/** x as [C·N, H, W]: a channels-first value reshaped, an NHWC one by one 2-D transpose (ORT's fast one). */
function channelsFirst(t: Tape, x: string, h: number, w: number, channels: number): string {
  const { g } = t;
  const cf = isChannelsFirst(t, x) ? x : toChannelsFirst(g, x, channels);
  return g.op('Reshape', [cf, g.ints('shape', [-1, h, w])], {}, 'dw_cf');
}

/**
 * The K rows under each output row, channels first: [C, N·OH, K·W]. Rows in the padding (and, with `dilation`,
 * between the input's rows: dY's in dX's correlation) are gathered from one zero row put after the map's last.
 */
function windowRows(g: GraphBuilder, xcf: string, win: Window, channels: number, dilation: number): string {
  const idx: number[] = [];
  for (let oh = 0; oh < win.oh; oh++)
    for (let i = 0; i < win.kh; i++) {
      const at = oh * win.stride + i - win.pads[0];
      idx.push(at >= 0 && at % dilation === 0 && at / dilation < win.h ? at / dilation : win.h);
    }
  const zero = idx.includes(win.h) ? g.op('Pad', [xcf, g.ints('pads', [0, 0, 0, 0, 1, 0])], { mode: 'constant' }, 'dw_zero_row') : xcf;
  const rows = g.op('Gather', [zero, g.ints('row_idx', idx)], { axis: 1 }, 'dw_rows');
  return g.op('Reshape', [rows, g.ints('shape', [channels, -1, win.kh * win.w])]);
}

/** The product of x [C·N, H, W] with the band: y [C, N·OH, OW], and the gathered rows (dW reuses them). */
function rowsForward(g: GraphBuilder, xcf: string, w2d: string, win: Window, channels: number, flip: boolean, dilation = 1): { y: string; rows: string } {
  const rows = windowRows(g, xcf, win, channels, dilation);
  return { y: g.op('MatMul', [rows, band(g, w2d, win, channels, flip, dilation)], {}, 'depthwise'), rows };
}

/**
 * dW: dBᵀ [C, OW, K·W] = dYᵀ·rows per channel (dY [C·N, OH, OW] transposed to [C, OW, N·OH]: from channels first,
 * not from NHWC in one Transpose, a third of the time), then each tap's entries of dBᵀ summed by one MatMul with a
 * constant 0/1 matrix.
 */
function kernelGradient(g: GraphBuilder, dycf: string, rows: string, win: Window, channels: number): string {
  const ow = win.ow;
  const dyT = g.op('Transpose', [g.op('Reshape', [dycf, g.ints('shape', [channels, -1, ow])])], { perm: [0, 2, 1] });
  const dbT = g.op('MatMul', [dyT, rows], {}, 'dW_band');
  const taps = win.kh * win.kw;
  const map = bandMap(win, false);
  const cols = win.kh * win.w * ow;
  const sum = new Float32Array(cols * taps);
  // dBᵀ's entry (o, i·W + x) is B's entry k = (i·W + x)·OW + o: the tap bandMap put there, if any.
  for (let t = 0; t < taps; t++)
    for (let k = 0; k < cols; k++) {
      const entry = (k % ow) * win.kh * win.w + Math.floor(k / ow);
      if (map[t * cols + k]) sum[entry * taps + t] = 1;
    }
  const perChannel = g.op('MatMul', [g.op('Reshape', [dbT, g.ints('shape', [channels, cols])]), g.constant('dw_tap_sum', sum, [cols, taps])]);
  return g.op('Transpose', [perChannel], { perm: [1, 0] }, 'dW_taps');
}

/** A frozen-statistics BatchNormalization right after the convolution, folded into it (see depthwiseRows). */
export interface FoldedNorm {
  gamma: string;
  beta: string;
  mean: Float32Array;
  variance: Float32Array;
  eps: number;
}

/**
 * The kernel and bias with a following BatchNormalization folded in: y = (z − μ)·s + β with s = γ/σ is the
 * convolution by w·s plus (b − μ)·s + β — the norm's two full-size passes and three of its backward's gone.
 */
function foldNorm(g: GraphBuilder, w2d: string, bias: string | undefined, norm: FoldedNorm) {
  const n = norm.mean.length;
  const invStd = g.constant(
    'bn_inv_std',
    norm.variance.map((v) => 1 / Math.sqrt(v + norm.eps)),
    [n],
  );
  const scale = g.op('Mul', [norm.gamma, invStd], {}, 'bn_scale');
  const mu = g.constant('bn_mean', norm.mean, [n]);
  const centre = bias ? g.op('Sub', [bias, mu]) : g.op('Neg', [mu]);
  return { invStd, scale, centre, w: g.op('Mul', [w2d, scale]), shift: g.op('Add', [g.op('Mul', [centre, scale]), norm.beta], {}, 'bn_shift') };
}

/**
 * dX: the correlation of dY, dilated by the stride and padded, with the flipped kernel, in the rows form at stride
 * 1 — the dilation and padding in the row indices and the band, not in copies of dY; input rows and columns no
 * window reached get zeros. Channels first ([C, N·H·W]) where x was.
 */
function rowsInputGradient(g: GraphBuilder, dy: string, w: string, win: Window, channels: number, xcf: boolean): string {
  const { kh, kw, pads } = win;
  const back: Window = { h: win.oh, w: win.ow, kh, kw, stride: 1, oh: win.h, ow: win.w, pads: [kh - 1 - pads[0], 0, kw - 1 - pads[2], 0] };
  const dyRows = g.op('Reshape', [dy, g.ints('shape', [-1, win.oh, win.ow])]);
  const dx = g.op('Reshape', [rowsForward(g, dyRows, w, back, channels, true, win.stride).y, g.ints('shape', [channels, -1])], {}, 'dX_cf');
  return xcf ? dx : toChannelsLast(g, dx, [win.h, win.w, channels]);
}

/**
 * DepthwiseConv2D (multiplier 1) in the rows form with its fused backward; kernel [KH, KW, C, 1]. Takes x channels
 * last or first, gives y channels first (tagged on the tape). With `norm`, the BatchNormalization after it is folded
 * in, and the backward gives its γ and β too: dγ = (Σ dY·z − μ·Σ dY)/σ with Σ dY·z = Σ_taps w·(Σ x·dY) + b·Σ dY
 * from the kernel's gradient, not from a full-size product.
 */
export function depthwiseRows(t: Tape, x: string, kernel: string, bias: string | undefined, win: Window, channels: number, norm?: FoldedNorm): string {
  const { g } = t;
  const w2d = g.op('Reshape', [kernel, g.ints('shape', [win.kh * win.kw, channels])], {}, 'dw_w2d');
  const folded = norm && foldNorm(g, w2d, bias, norm);
  const w = folded?.w ?? w2d;
  const xcf = isChannelsFirst(t, x);
  const { y: z3, rows } = rowsForward(g, channelsFirst(t, x, win.h, win.w, channels), w, win, channels, false);
  const z = g.op('Reshape', [z3, g.ints('shape', [channels, -1])]);
  const shift = folded?.shift ?? bias;
  const column = (v: string) => g.op('Reshape', [v, g.ints('shape', [-1, 1])]);
  const y = shift ? g.op('Add', [z, column(shift)], {}, 'dw_bias') : z;
  t.fuse(y, [x, kernel, bias ?? '', norm?.gamma ?? '', norm?.beta ?? ''], (dy, asked) => {
    const wants = (i: number) => asked(i) && (i < 3 || !!folded);
    const axis0 = () => g.ints('axis0', [0]);
    const sumDy = wants(2) || wants(3) || wants(4) ? g.op('ReduceSum', [dy, g.ints('axis1', [1])], { keepdims: 0 }) : '';
    // Σ x·dY per tap and channel [taps, C]: the gradient of the (scaled) kernel.
    const taps = wants(1) || wants(3) ? kernelGradient(g, dy, rows, win, channels) : '';
    const byScale = (v: string) => (folded ? g.op('Mul', [v, folded.scale]) : v);
    const dw = wants(1) ? g.op('Reshape', [byScale(taps), g.op('Shape', [kernel])], {}, 'dW_dw') : undefined;
    const db = wants(2) ? byScale(sumDy) : undefined;
    let dgamma: string | undefined;
    if (folded && wants(3)) {
      const dyz = g.op('ReduceSum', [g.op('Mul', [w2d, taps]), axis0()], { keepdims: 0 });
      dgamma = g.op('Mul', [g.op('Add', [dyz, g.op('Mul', [folded.centre, sumDy])]), folded.invStd], {}, 'dgamma');
    }
    const dbeta = wants(4) ? sumDy : undefined;
    return [wants(0) ? rowsInputGradient(g, dy, w, win, channels, xcf) : undefined, dw, db, dgamma, dbeta];
  });
  return markChannelsFirst(t, y, [win.oh, win.ow, channels]);
}
