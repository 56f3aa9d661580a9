// The Keras layers' forward ops as the training compiler emits them. Their gradients come from the per-op rules
// (grad/), except where a fused backward is faster than the rules on these forward nodes: im2col convolutions,
// pooling and frozen-statistics BatchNormalization register theirs with `fuse` (a rewrite of those rules).
import type { FusedGradient } from './grad/differentiate.js';
import type { GraphBuilder } from './graph.js';

export class Tape {
  readonly fused = new Map<string, FusedGradient>();

  constructor(readonly g: GraphBuilder) {}

  /** `y`'s backward to `inputs` ('' where absent), used instead of the rules of the nodes between them. */
  fuse(y: string, inputs: string[], backward: FusedGradient['backward']): void {
    this.fused.set(y, { inputs, backward });
  }
}

/** x @ w (+ b): a Dense layer's product over the last axis, of flat inputs or of every position of a feature map. */
export function dense(t: Tape, x: string, w: string, b: string | undefined): string {
  const xw = t.g.op('MatMul', [x, w], {}, 'dense');
  return b ? t.g.op('Add', [xw, b], {}, 'dense_bias') : xw;
}

/** LayerNormalization over the last axis with trainable γ and β (ONNX's op; its rule recomputes the statistics). */
export function layerNorm(t: Tape, x: string, gamma: string, beta: string, eps: number): string {
  return t.g.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: { float: eps } }, 'layer_norm');
}

/** ConvNeXt's LayerScale, x·γ with a trainable γ per channel (last axis). */
export function layerScale(t: Tape, x: string, gamma: string): string {
  return t.g.op('Mul', [x, gamma], {}, 'layer_scale');
}

/** Keras's activations as ONNX ops. */
export function activate(t: Tape, x: string, name: string): string {
  const { g } = t;
  const zero = () => g.constant('zero', [0], []);
  const six = () => g.constant('six', [6], []);
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return g.op('Relu', [x]);
    case 'relu6':
      return g.op('Clip', [x, zero(), six()]);
    case 'swish': {
      const s = g.op('Sigmoid', [x]);
      const y = g.op('Mul', [x, s], {}, 'swish');
      // Fused: d(x·σ(x))/dx = σ(x)·(1 + x·(1 − σ(x))), one full-size product fewer than the Mul and Sigmoid rules.
      t.fuse(y, [x], (dy) => {
        const one = g.constant('one', [1], []);
        return [g.op('Mul', [dy, g.op('Mul', [s, g.op('Add', [one, g.op('Mul', [x, g.op('Sub', [one, s])])])])], {}, 'dswish')];
      });
      return y;
    }
    case 'sigmoid':
      return g.op('Sigmoid', [x]);
    case 'tanh':
      return g.op('Tanh', [x]);
    case 'softmax':
      return g.op('Softmax', [x], { axis: -1 });
    case 'hard_swish':
    case 'hardSwish': {
      // y = x · relu6(x + 3) / 6; fused: dy/dx = 0 below −3, 1 above 3, (2x + 3)/6 between.
      const three = g.constant('three', [3], []);
      const sixth = g.constant('sixth', [1 / 6], []);
      const y = g.op('Mul', [x, g.op('Mul', [g.op('Clip', [g.op('Add', [x, three]), zero(), six()]), sixth])], {}, 'hard_swish');
      t.fuse(y, [x], (dy) => {
        const middle = g.op('Mul', [g.op('Add', [g.op('Add', [x, x]), three]), sixth]);
        const d = g.op('Where', [
          g.op('Less', [x, g.constant('minus_three', [-3], [])]),
          zero(),
          g.op('Where', [g.op('Greater', [x, three]), g.constant('one', [1], []), middle]),
        ]);
        return [g.op('Mul', [dy, d], {}, 'dhard_swish')];
      });
      return y;
    }
    case 'gelu': {
      // Exact GELU, x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2.
      const erf = g.op('Erf', [g.op('Div', [x, g.constant('sqrt2', [Math.SQRT2], [])])]);
      const cdf = g.op('Mul', [g.op('Add', [erf, g.constant('one', [1], [])]), g.constant('half', [0.5], [])]);
      return g.op('Mul', [x, cdf], {}, 'gelu');
    }
    default:
      throw new Error(`the training compiler has no op for activation '${name}' yet`);
  }
}

/** x · scale + offset with constant scale and offset (Keras's Rescaling), per channel or not. */
export function affine(t: Tape, x: string, scale: string, offset: string | undefined): string {
  const scaled = t.g.op('Mul', [x, scale], {}, 'rescale');
  return offset ? t.g.op('Add', [scaled, offset], {}, 'offset') : scaled;
}

/** x * mask, the mask fed per step (dropout: 0 or 1/(1-rate)). */
export function maskMul(t: Tape, x: string, mask: string): string {
  return t.g.op('Mul', [x, mask], {}, 'dropout');
}

/** Reshape to [N, -1] (Keras Flatten on channels-last data). */
export function flatten(t: Tape, x: string): string {
  return t.g.op('Flatten', [x], { axis: 1 });
}

/** Geometry of a 2-D convolution or pooling window over a channels-last input, TF's padding rules. */
export interface Window {
  h: number;
  w: number;
  kh: number;
  kw: number;
  stride: number;
  /** Output size and padding (top, bottom, left, right). */
  oh: number;
  ow: number;
  pads: [number, number, number, number];
}

export function windowOf(h: number, w: number, kh: number, kw: number, stride: number, padding: 'same' | 'valid'): Window {
  if (padding === 'valid') {
    return { h, w, kh, kw, stride, oh: Math.floor((h - kh) / stride) + 1, ow: Math.floor((w - kw) / stride) + 1, pads: [0, 0, 0, 0] };
  }
  const oh = Math.ceil(h / stride);
  const ow = Math.ceil(w / stride);
  const ph = Math.max((oh - 1) * stride + kh - h, 0);
  const pw = Math.max((ow - 1) * stride + kw - w, 0);
  return { h, w, kh, kw, stride, oh, ow, pads: [Math.floor(ph / 2), ph - Math.floor(ph / 2), Math.floor(pw / 2), pw - Math.floor(pw / 2)] };
}

/**
 * im2col with one Gather: x [N, H, W, C] → [N·OH·OW, KH·KW·C], padding folded in by padding x first. The
 * prototype found this (then one MatMul) the fast, uniform way to run convolutions whose weights are inputs.
 */
export function im2col(g: GraphBuilder, x: string, win: Window, channels: number): string {
  const [pt, pb, pl, pr] = win.pads;
  const hp = win.h + pt + pb;
  const wp = win.w + pl + pr;
  const padded = pt + pb + pl + pr > 0 ? g.op('Pad', [x, g.ints('pads', [0, pt, pl, 0, 0, pb, pr, 0])], { mode: 'constant' }) : x;
  const idx: number[] = [];
  for (let oh = 0; oh < win.oh; oh++)
    for (let ow = 0; ow < win.ow; ow++)
      for (let i = 0; i < win.kh; i++) for (let j = 0; j < win.kw; j++) idx.push((oh * win.stride + i) * wp + ow * win.stride + j);
  const flat = g.op('Reshape', [padded, g.ints('shape', [0, hp * wp, channels])]);
  const gathered = g.op('Gather', [flat, g.ints('im2col_idx', idx)], { axis: 1 }, 'im2col');
  return g.op('Reshape', [gathered, g.ints('shape', [-1, win.kh * win.kw * channels])], {}, 'cols');
}

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
  const { g } = t;
  const w2d = g.op('Reshape', [kernel, g.ints('shape', [win.kh * win.kw * ci, co])], {}, 'w2d');
  const { y, cols } = convForward(t, x, w2d, win, ci, co, bias);
  t.fuse(y, [x, kernel, bias ?? ''], (dy, wants) => {
    const dy2d = g.op('Reshape', [dy, g.ints('shape', [-1, co])], {}, 'dy2d');
    const dw = wants(1) ? g.op('Reshape', [g.op('Gemm', [cols, dy2d], { transA: 1 }, 'dW'), g.op('Shape', [kernel])], {}, 'dW_hwio') : undefined;
    const db = wants(2) ? g.op('ReduceSum', [dy2d, g.ints('axis0', [0])], { keepdims: 0 }, 'db') : undefined;
    if (!wants(0)) return [undefined, dw, db];
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
 * Max pooling with window = stride (VGG's 2×2/2), 'valid': a reshape and a max. Backward sends each window's
 * gradient to its first maximum in row-major order, as tfjs and PyTorch do when values tie (an equality mask,
 * kept at its first set position by a cumulative sum).
 */
export function maxPool(t: Tape, x: string, win: Window, channels: number): string {
  const { g } = t;
  const { oh, ow, kh, kw } = win;
  const blocks = g.op('Reshape', [x, g.ints('shape', [-1, oh, kh, ow, kw, channels])], {}, 'pool_blocks');
  const y = g.op('ReduceMax', [blocks], { axes: [2, 4], keepdims: 0 }, 'maxpool');
  t.fuse(y, [x], (dy) => {
    // Window positions last: [N, OH, OW, C, KH·KW].
    const windows = g.op('Reshape', [g.op('Transpose', [blocks], { perm: [0, 1, 3, 5, 2, 4] }), g.ints('shape', [-1, oh, ow, channels, kh * kw])]);
    const top = g.op('Reshape', [y, g.ints('shape', [-1, oh, ow, channels, 1])]);
    const mask = g.op('Cast', [g.op('Equal', [windows, top])], { to: 1 }, 'pool_mask');
    const first = g.op(
      'Mul',
      [mask, g.op('Cast', [g.op('Equal', [g.op('CumSum', [mask, g.ints('last_axis', [4])]), g.constant('one', [1], [])])], { to: 1 })],
      {},
      'pool_first',
    );
    const routed = g.op('Mul', [first, g.op('Reshape', [dy, g.ints('shape', [-1, oh, ow, channels, 1])])]);
    const back = g.op('Transpose', [g.op('Reshape', [routed, g.ints('shape', [-1, oh, ow, channels, kh, kw])])], { perm: [0, 1, 4, 2, 5, 3] });
    return [g.op('Reshape', [back, g.ints('shape', [-1, win.h, win.w, channels])], {}, 'dpool')];
  });
  return y;
}

/**
 * Max pooling over overlapping 'valid' windows (NASNet's 3×3 stride 2): the windows gathered as im2col does, the
 * maximum taken over each. Fused: the gradient goes to each window's first maximum (as tfjs and Keras route ties;
 * the ReduceMax rule would give it to every maximum), scattered back with summation where windows overlap.
 */
export function maxPoolWindows(t: Tape, x: string, win: Window, channels: number): string {
  const { g } = t;
  const taps = win.kh * win.kw;
  const positions = win.oh * win.ow;
  const windows = g.op('Reshape', [im2col(g, x, win, channels), g.ints('shape', [-1, positions, taps, channels])], {}, 'pool_windows');
  const top = g.op('ReduceMax', [windows], { axes: [2], keepdims: 1 }, 'maxpool_top');
  const y = g.op('Reshape', [top, g.ints('shape', [-1, win.oh, win.ow, channels])], {}, 'maxpool');
  t.fuse(y, [x], (dy) => {
    const mask = g.op('Cast', [g.op('Equal', [windows, top])], { to: 1 }, 'pool_mask');
    const first = g.op('Mul', [mask, g.op('Cast', [g.op('Equal', [g.op('CumSum', [mask, g.ints('tap_axis', [2])]), g.constant('one', [1], [])])], { to: 1 })]);
    const routed = g.op('Reshape', [
      g.op('Mul', [first, g.op('Reshape', [dy, g.ints('shape', [-1, positions, 1, channels])])]),
      g.ints('shape', [0, positions * taps, channels]),
    ]);
    // The flat input position of every gathered element (valid windows: no padding).
    const idx: number[] = [];
    for (let oh = 0; oh < win.oh; oh++)
      for (let ow = 0; ow < win.ow; ow++)
        for (let i = 0; i < win.kh; i++) for (let j = 0; j < win.kw; j++) idx.push((oh * win.stride + i) * win.w + ow * win.stride + j);
    const column = g.op('Reshape', [g.ints('pool_scatter_idx', idx), g.ints('shape', [1, idx.length, 1])]);
    const indices = g.op('Expand', [column, g.op('Shape', [routed])]);
    const zeros = g.op('Reshape', [g.op('Mul', [x, g.constant('zero', [0], [])]), g.ints('shape', [0, win.h * win.w, channels])]);
    const flat = g.op('ScatterElements', [zeros, indices, routed], { axis: 1, reduction: 'add' }, 'dpool_flat');
    return [g.op('Reshape', [flat, g.ints('shape', [-1, win.h, win.w, channels])], {}, 'dpool')];
  });
  return y;
}

/** Cropping of height and width (Keras's Cropping2D). */
export function crop(t: Tape, x: string, [[top, bottom], [left, right]]: number[][], h: number, w: number): string {
  return t.g.op('Slice', [x, t.g.ints('starts', [top, left]), t.g.ints('ends', [h - bottom, w - right]), t.g.ints('axes', [1, 2])], {}, 'crop');
}

/** Depthwise convolution (multiplier 1), channels last, kernel [KH, KW, C, 1]: im2col, multiply, sum the taps. */
function depthwiseForward(t: Tape, x: string, w2d: string, win: Window, channels: number, bias?: string): { y: string; cols: string } {
  const { g } = t;
  const cols = g.op('Reshape', [im2col(g, x, win, channels), g.ints('shape', [-1, win.kh * win.kw, channels])], {}, 'dw_cols');
  let y = g.op('ReduceSum', [g.op('Mul', [cols, w2d]), g.ints('axis1', [1])], { keepdims: 0 }, 'depthwise');
  if (bias) y = g.op('Add', [y, bias]);
  return { y: g.op('Reshape', [y, g.ints('shape', [-1, win.oh, win.ow, channels])], {}, 'dw_out'), cols };
}

/**
 * A large depthwise kernel (ConvNeXt's 7×7, EfficientNet's 5×5) as ONNX Runtime's grouped Conv, gradients from the
 * Conv rule: 2–3× faster than im2col there, where most gathered taps are padding; 3×3 kernels are as fast either way.
 */
function groupedConv(t: Tape, x: string, kernel: string, bias: string | undefined, win: Window, channels: number): string {
  const { g } = t;
  const [top, bottom, left, right] = win.pads;
  const nchw = g.op('Transpose', [x], { perm: [0, 3, 1, 2] });
  const w = g.op('Transpose', [kernel], { perm: [2, 3, 0, 1] }, 'dw_oihw');
  const attrs = { group: channels, kernel_shape: [win.kh, win.kw], strides: [win.stride, win.stride], pads: [top, left, bottom, right] };
  const y = g.op('Transpose', [g.op('Conv', [nchw, w], attrs, 'depthwise')], { perm: [0, 2, 3, 1] });
  return bias ? g.op('Add', [y, bias], {}, 'dw_bias') : y;
}

/** DepthwiseConv2D with gradients; dX correlates the (dilated, padded) dY with the flipped kernel. */
export function depthwiseConv2d(t: Tape, x: string, kernel: string, bias: string | undefined, win: Window, channels: number): string {
  const { g } = t;
  if (win.kh * win.kw > 9) return groupedConv(t, x, kernel, bias, win, channels);
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

/**
 * BatchNormalization in inference mode (Keras's rule for fine-tuning): moving statistics fixed, gamma and beta
 * trained when their layer is. y = (x − mean)/√(var + ε)·γ + β over the last axis.
 */
export function batchNorm(t: Tape, x: string, gamma: string, beta: string, mean: Float32Array, variance: Float32Array, eps: number, rank: number): string {
  const { g } = t;
  const n = mean.length;
  const inv = variance.map((v) => 1 / Math.sqrt(v + eps));
  const xhat = g.op('Mul', [g.op('Sub', [x, g.constant('bn_mean', mean, [n])]), g.constant('bn_inv_std', inv, [n])], {}, 'bn_xhat');
  const y = g.op('Add', [g.op('Mul', [xhat, gamma]), beta], {}, 'bn');
  // Made only when γ or β trains: an unused initializer draws a warning from ONNX Runtime.
  const axes = () =>
    g.ints(
      'bn_axes',
      Array.from({ length: rank - 1 }, (_, i) => i),
    );
  // Fused: dX = dY·(γ/σ) in one full-size product, where the rules would take two.
  t.fuse(y, [x, gamma, beta], (dy, wants) => [
    wants(0) ? g.op('Mul', [dy, g.op('Mul', [gamma, g.constant('bn_inv_std', inv, [n])])], {}, 'dbn') : undefined,
    wants(1) ? g.op('ReduceSum', [g.op('Mul', [dy, xhat]), axes()], { keepdims: 0 }, 'dgamma') : undefined,
    wants(2) ? g.op('ReduceSum', [dy, axes()], { keepdims: 0 }, 'dbeta') : undefined,
  ]);
  return y;
}

/** Elementwise sum or product of several values (Keras's Add / Multiply), broadcasting allowed. */
export function combine(t: Tape, op: 'Add' | 'Mul', xs: string[]): string {
  let y = xs[0];
  for (const x of xs.slice(1)) y = t.g.op(op, [y, x], {}, op === 'Add' ? 'add' : 'mul');
  return y;
}

/** Concatenation along the last axis (channels). */
export function concatLast(t: Tape, xs: string[]): string {
  return t.g.op('Concat', xs, { axis: -1 }, 'concat');
}

/** Global average or max pooling over height and width → [N, C]. */
export function globalPool(t: Tape, x: string, kind: 'avg' | 'max'): string {
  return t.g.op(kind === 'avg' ? 'ReduceMean' : 'ReduceMax', [x], { axes: [1, 2], keepdims: 0 }, `global_${kind}`);
}

/** Zero padding of height and width. */
export function zeroPad(t: Tape, x: string, [[top, bottom], [left, right]]: number[][]): string {
  return t.g.op('Pad', [x, t.g.ints('pads', [0, top, left, 0, 0, bottom, right, 0])], { mode: 'constant' }, 'zero_pad');
}

/** Reshape to [N, ...target] (channels-last order, as Keras). */
export function reshape(t: Tape, x: string, target: number[]): string {
  return t.g.op('Reshape', [x, t.g.ints('shape', [-1, ...target])], {}, 'reshape');
}

/**
 * The input gradient of a window op (convolution, depthwise, pooling sum) at any stride: dY with stride−1 zeros
 * inserted between its pixels, padded, then correlated at stride 1 by `correlate` (with the flipped kernel);
 * input rows and columns no window reached get zeros.
 */
function inputGradient(t: Tape, dy: string, win: Window, channels: number, correlate: (dyd: string, back: Window) => string): string {
  const { g } = t;
  const s = win.stride;
  let dyd = dy;
  let hd = win.oh;
  let wd = win.ow;
  if (s > 1) {
    const cells = g.op('Reshape', [dy, g.ints('shape', [-1, win.oh, 1, win.ow, 1, channels])]);
    const spread = g.op('Pad', [cells, g.ints('pads', [0, 0, 0, 0, 0, 0, 0, 0, s - 1, 0, s - 1, 0])], { mode: 'constant' });
    hd = (win.oh - 1) * s + 1;
    wd = (win.ow - 1) * s + 1;
    const full = g.op('Reshape', [spread, g.ints('shape', [-1, win.oh * s, win.ow * s, channels])]);
    dyd = g.op('Slice', [full, g.ints('starts', [0, 0]), g.ints('ends', [hd, wd]), g.ints('axes', [1, 2])], {}, 'dy_dilated');
  }
  const top = win.kh - 1 - win.pads[0];
  const left = win.kw - 1 - win.pads[2];
  const bottom = Math.max(0, win.h + win.kh - 1 - hd - top);
  const right = Math.max(0, win.w + win.kw - 1 - wd - left);
  const oh = hd + top + bottom - win.kh + 1;
  const ow = wd + left + right - win.kw + 1;
  const dx = correlate(dyd, { h: hd, w: wd, kh: win.kh, kw: win.kw, stride: 1, oh, ow, pads: [top, bottom, left, right] });
  return oh === win.h && ow === win.w
    ? dx
    : g.op('Pad', [dx, g.ints('pads', [0, 0, 0, 0, 0, win.h - oh, win.w - ow, 0])], { mode: 'constant' }, 'dx_uncovered');
}

/**
 * Average pooling (Inception's 3×3 'same' branches): a depthwise sum with a kernel of ones divided
 * by how many input pixels each window covers (TF leaves padding out of the average).
 */
export function avgPool(t: Tape, x: string, win: Window, channels: number): string {
  const { g } = t;
  const ones = g.constant('pool_ones', new Float32Array(win.kh * win.kw * channels).fill(1), [win.kh * win.kw, channels]);
  const counts = new Float32Array(win.oh * win.ow);
  for (let oh = 0; oh < win.oh; oh++)
    for (let ow = 0; ow < win.ow; ow++) {
      const rows = Math.min(oh - win.pads[0] + win.kh, win.h) - Math.max(oh - win.pads[0], 0);
      const cols = Math.min(ow - win.pads[2] + win.kw, win.w) - Math.max(ow - win.pads[2], 0);
      counts[oh * win.ow + ow] = 1 / (rows * cols);
    }
  const inv = g.constant('pool_inv_count', counts, [1, win.oh, win.ow, 1]);
  const y = g.op('Mul', [depthwiseForward(t, x, ones, win, channels).y, inv], {}, 'avgpool');
  t.fuse(y, [x], (dy) => [inputGradient(t, g.op('Mul', [dy, inv]), win, channels, (dyd, back) => depthwiseForward(t, dyd, ones, back, channels).y)]);
  return y;
}
