// Reverse-mode differentiation over the ONNX graph being built: every primitive emits its forward nodes and
// registers how to emit its backward nodes; `backward` then walks the tape in reverse.
import type { GraphBuilder } from './graph.js';

export class Tape {
  private readonly grads = new Map<string, string>();
  private readonly steps: Array<() => void> = [];

  constructor(readonly g: GraphBuilder) {}

  /** The accumulated gradient of `value`, if anything downstream needs it. */
  grad(value: string): string | undefined {
    return this.grads.get(value);
  }

  /** Adds `grad` to the gradient of `value` (values used twice sum their gradients). */
  accumulate(value: string, grad: string): void {
    const prev = this.grads.get(value);
    this.grads.set(value, prev ? this.g.op('Add', [prev, grad], {}, 'grad_sum') : grad);
  }

  record(step: () => void): void {
    this.steps.push(step);
  }

  /** Seeds d(loss)/d(value) and emits every backward step, last first. */
  backward(value: string, seed: string): void {
    this.accumulate(value, seed);
    for (let i = this.steps.length - 1; i >= 0; i--) this.steps[i]();
  }
}

/**
 * x @ w (+ b): a Dense layer's product over the last axis, of flat inputs or of every position of a feature map
 * (rank > 2, ConvNeXt's pointwise layers). Gradients: dx = dy wᵀ, dw = xᵀ dy, db = Σ dy, with the positions as
 * rows.
 */
export function dense(t: Tape, x: string, w: string, b: string | undefined, needsInputGrad: boolean, rank = 2): string {
  const { g } = t;
  const xw = g.op('MatMul', [x, w], {}, 'dense');
  const y = b ? g.op('Add', [xw, b], {}, 'dense_bias') : xw;
  const rows = (v: string) => (rank === 2 ? v : g.op('Flatten', [v], { axis: rank - 1 }, 'rows'));
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    const dyRows = rows(dy);
    t.accumulate(w, g.op('Gemm', [rows(x), dyRows], { transA: 1 }, 'dW'));
    if (b) t.accumulate(b, g.op('ReduceSum', [dyRows, g.ints('axis0', [0])], { keepdims: 0 }, 'db'));
    if (!needsInputGrad) return;
    if (rank === 2) t.accumulate(x, g.op('Gemm', [dy, w], { transB: 1 }, 'dX'));
    else t.accumulate(x, g.op('MatMul', [dy, g.op('Transpose', [w], { perm: [1, 0] })], {}, 'dX'));
  });
  return y;
}

/**
 * LayerNormalization over the last axis with trainable γ and β: y = x̂·γ + β, x̂ = (x − μ)/σ, σ = √(var + ε).
 * Gradients: dβ = Σ dy, dγ = Σ dy·x̂ over the rows; dx = (g − mean(g) − x̂·mean(g·x̂))/σ with g = dy·γ.
 */
export function layerNorm(t: Tape, x: string, gamma: string, beta: string, eps: number, rank: number): string {
  const { g } = t;
  const mean = (v: string) => g.op('ReduceMean', [v], { axes: [-1], keepdims: 1 }, 'ln_mean');
  const centred = g.op('Sub', [x, mean(x)], {}, 'ln_centred');
  const std = g.op('Sqrt', [g.op('Add', [mean(g.op('Mul', [centred, centred])), g.constant('ln_eps', [eps], [])])], {}, 'ln_std');
  const xhat = g.op('Div', [centred, std], {}, 'ln_xhat');
  const y = g.op('Add', [g.op('Mul', [xhat, gamma]), beta], {}, 'layer_norm');
  const rowSum = (v: string) => g.op('ReduceSum', [g.op('Flatten', [v], { axis: rank - 1 }), g.ints('axis0', [0])], { keepdims: 0 });
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    t.accumulate(gamma, rowSum(g.op('Mul', [dy, xhat])));
    t.accumulate(beta, rowSum(dy));
    const gx = g.op('Mul', [dy, gamma]);
    const inner = g.op('Sub', [g.op('Sub', [gx, mean(gx)]), g.op('Mul', [xhat, mean(g.op('Mul', [gx, xhat]))])]);
    t.accumulate(x, g.op('Div', [inner, std], {}, 'dlayer_norm'));
  });
  return y;
}

/** ConvNeXt's LayerScale, x·γ with a trainable γ per channel (last axis): dγ = Σ dy·x over the rows, dx = dy·γ. */
export function layerScale(t: Tape, x: string, gamma: string, rank: number, needsInputGrad: boolean): string {
  const { g } = t;
  const y = g.op('Mul', [x, gamma], {}, 'layer_scale');
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    t.accumulate(gamma, g.op('ReduceSum', [g.op('Flatten', [g.op('Mul', [dy, x])], { axis: rank - 1 }), g.ints('axis0', [0])], { keepdims: 0 }, 'dgamma'));
    if (needsInputGrad) t.accumulate(x, g.op('Mul', [dy, gamma], {}, 'dlayer_scale'));
  });
  return y;
}

/** Elementwise activations with their derivatives written in terms of the output where that is cheaper. */
export function activate(t: Tape, x: string, name: string): string {
  const { g } = t;
  switch (name) {
    case 'linear':
      return x;
    case 'relu': {
      const y = g.op('Relu', [x]);
      t.record(() => {
        const dy = t.grad(y);
        if (dy) t.accumulate(x, g.op('Where', [g.op('Greater', [x, g.constant('zero', [0], [])]), dy, g.constant('zero', [0], [])], {}, 'drelu'));
      });
      return y;
    }
    case 'relu6': {
      const y = g.op('Clip', [x, g.constant('zero', [0], []), g.constant('six', [6], [])]);
      t.record(() => {
        const dy = t.grad(y);
        if (!dy) return;
        const inside = g.op('And', [g.op('Greater', [x, g.constant('zero', [0], [])]), g.op('Less', [x, g.constant('six', [6], [])])]);
        t.accumulate(x, g.op('Where', [inside, dy, g.constant('zero', [0], [])], {}, 'drelu6'));
      });
      return y;
    }
    case 'swish': {
      const s = g.op('Sigmoid', [x]);
      const y = g.op('Mul', [x, s], {}, 'swish');
      t.record(() => {
        const dy = t.grad(y);
        if (!dy) return;
        // d(x·σ(x))/dx = σ(x)·(1 + x·(1 − σ(x)))
        const d = g.op('Mul', [s, g.op('Add', [g.constant('one', [1], []), g.op('Mul', [x, g.op('Sub', [g.constant('one', [1], []), s])])])]);
        t.accumulate(x, g.op('Mul', [dy, d], {}, 'dswish'));
      });
      return y;
    }
    case 'sigmoid': {
      const y = g.op('Sigmoid', [x]);
      t.record(() => {
        const dy = t.grad(y);
        if (dy) t.accumulate(x, g.op('Mul', [dy, g.op('Mul', [y, g.op('Sub', [g.constant('one', [1], []), y])])], {}, 'dsigmoid'));
      });
      return y;
    }
    case 'tanh': {
      const y = g.op('Tanh', [x]);
      t.record(() => {
        const dy = t.grad(y);
        if (dy) t.accumulate(x, g.op('Mul', [dy, g.op('Sub', [g.constant('one', [1], []), g.op('Mul', [y, y])])], {}, 'dtanh'));
      });
      return y;
    }
    case 'softmax': {
      const y = g.op('Softmax', [x], { axis: -1 });
      t.record(() => {
        const dy = t.grad(y);
        if (!dy) return;
        // dx = y * (dy - Σ dy·y)
        const dot = g.op('ReduceSum', [g.op('Mul', [dy, y]), g.ints('axis_last', [-1])], { keepdims: 1 });
        t.accumulate(x, g.op('Mul', [y, g.op('Sub', [dy, dot])], {}, 'dsoftmax'));
      });
      return y;
    }
    case 'hard_swish':
    case 'hardSwish': {
      // y = x · relu6(x + 3) / 6; dy/dx = 0 below −3, 1 above 3, (2x + 3)/6 between.
      const three = g.constant('three', [3], []);
      const minusThree = g.constant('minus_three', [-3], []);
      const sixth = g.constant('sixth', [1 / 6], []);
      const gate = g.op('Mul', [g.op('Clip', [g.op('Add', [x, three]), g.constant('zero', [0], []), g.constant('six', [6], [])]), sixth]);
      const y = g.op('Mul', [x, gate], {}, 'hard_swish');
      t.record(() => {
        const dy = t.grad(y);
        if (!dy) return;
        const middle = g.op('Mul', [g.op('Add', [g.op('Add', [x, x]), three]), sixth]);
        const d = g.op('Where', [
          g.op('Less', [x, minusThree]),
          g.constant('zero', [0], []),
          g.op('Where', [g.op('Greater', [x, three]), g.constant('one', [1], []), middle]),
        ]);
        t.accumulate(x, g.op('Mul', [dy, d], {}, 'dhard_swish'));
      });
      return y;
    }
    case 'gelu': {
      // Exact GELU, x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2; dy/dx = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π).
      const cdf = g.op('Mul', [
        g.op('Add', [g.op('Erf', [g.op('Div', [x, g.constant('sqrt2', [Math.SQRT2], [])])]), g.constant('one', [1], [])]),
        g.constant('half', [0.5], []),
      ]);
      const y = g.op('Mul', [x, cdf], {}, 'gelu');
      t.record(() => {
        const dy = t.grad(y);
        if (!dy) return;
        const pdf = g.op('Mul', [
          g.op('Exp', [g.op('Mul', [g.op('Mul', [x, x]), g.constant('minus_half', [-0.5], [])])]),
          g.constant('inv_sqrt_2pi', [1 / Math.sqrt(2 * Math.PI)], []),
        ]);
        t.accumulate(x, g.op('Mul', [dy, g.op('Add', [cdf, g.op('Mul', [x, pdf])])], {}, 'dgelu'));
      });
      return y;
    }
    default:
      throw new Error(`no gradient for activation '${name}' in the training compiler yet`);
  }
}

/** x · scale + offset with constant scale and offset (Keras's Rescaling), per channel or not: dx = dy · scale. */
export function affine(t: Tape, x: string, scale: string, offset: string | undefined): string {
  const { g } = t;
  const scaled = g.op('Mul', [x, scale], {}, 'rescale');
  const y = offset ? g.op('Add', [scaled, offset], {}, 'offset') : scaled;
  t.record(() => {
    const dy = t.grad(y);
    if (dy) t.accumulate(x, g.op('Mul', [dy, scale], {}, 'drescale'));
  });
  return y;
}

/** x * mask, the mask fed per step (dropout: 0 or 1/(1-rate)). */
export function maskMul(t: Tape, x: string, mask: string): string {
  const { g } = t;
  const y = g.op('Mul', [x, mask], {}, 'dropout');
  t.record(() => {
    const dy = t.grad(y);
    if (dy) t.accumulate(x, g.op('Mul', [dy, mask], {}, 'ddropout'));
  });
  return y;
}

/** Reshape to [N, -1] (Keras Flatten on channels-last data); the gradient reshapes back. */
export function flatten(t: Tape, x: string): string {
  const { g } = t;
  const y = g.op('Flatten', [x], { axis: 1 });
  t.record(() => {
    const dy = t.grad(y);
    if (dy) t.accumulate(x, g.op('Reshape', [dy, g.op('Shape', [x])], {}, 'dflatten'));
  });
  return y;
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
export function conv2d(t: Tape, x: string, kernel: string, bias: string | undefined, win: Window, ci: number, co: number, needsInputGrad: boolean): string {
  const { g } = t;
  const w2d = g.op('Reshape', [kernel, g.ints('shape', [win.kh * win.kw * ci, co])], {}, 'w2d');
  const { y, cols } = convForward(t, x, w2d, win, ci, co, bias);
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    const dy2d = g.op('Reshape', [dy, g.ints('shape', [-1, co])], {}, 'dy2d');
    t.accumulate(kernel, g.op('Reshape', [g.op('Gemm', [cols, dy2d], { transA: 1 }, 'dW'), g.op('Shape', [kernel])], {}, 'dW_hwio'));
    if (bias) t.accumulate(bias, g.op('ReduceSum', [dy2d, g.ints('axis0', [0])], { keepdims: 0 }, 'db'));
    if (!needsInputGrad) return;
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
    t.accumulate(
      x,
      inputGradient(t, dy, win, co, (dyd, back) => convForward(t, dyd, w2dBack, back, co, ci).y),
    );
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
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
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
    t.accumulate(x, g.op('Reshape', [back, g.ints('shape', [-1, win.h, win.w, channels])], {}, 'dpool'));
  });
  return y;
}

/**
 * Max pooling over overlapping 'valid' windows (NASNet's 3×3 stride 2): the windows gathered as im2col does, the
 * maximum taken over each; the gradient goes to each window's first maximum, scattered back with summation
 * where windows overlap.
 */
export function maxPoolWindows(t: Tape, x: string, win: Window, channels: number): string {
  const { g } = t;
  const taps = win.kh * win.kw;
  const positions = win.oh * win.ow;
  const windows = g.op('Reshape', [im2col(g, x, win, channels), g.ints('shape', [-1, positions, taps, channels])], {}, 'pool_windows');
  const top = g.op('ReduceMax', [windows], { axes: [2], keepdims: 1 }, 'maxpool_top');
  const y = g.op('Reshape', [top, g.ints('shape', [-1, win.oh, win.ow, channels])], {}, 'maxpool');
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
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
    t.accumulate(x, g.op('Reshape', [flat, g.ints('shape', [-1, win.h, win.w, channels])], {}, 'dpool'));
  });
  return y;
}

/** Cropping of height and width (Keras's Cropping2D); the gradient pads the cropped rows and columns with zeros. */
export function crop(t: Tape, x: string, [[top, bottom], [left, right]]: number[][], h: number, w: number): string {
  const { g } = t;
  const y = g.op('Slice', [x, g.ints('starts', [top, left]), g.ints('ends', [h - bottom, w - right]), g.ints('axes', [1, 2])], {}, 'crop');
  t.record(() => {
    const dy = t.grad(y);
    if (dy) t.accumulate(x, g.op('Pad', [dy, g.ints('pads', [0, top, left, 0, 0, bottom, right, 0])], { mode: 'constant' }, 'dcrop'));
  });
  return y;
}

/** Depthwise convolution (multiplier 1), channels last, kernel [KH, KW, C, 1]: im2col, multiply, sum the taps. */
function depthwiseForward(t: Tape, x: string, w2d: string, win: Window, channels: number, bias?: string): { y: string; cols: string } {
  const { g } = t;
  const cols = g.op('Reshape', [im2col(g, x, win, channels), g.ints('shape', [-1, win.kh * win.kw, channels])], {}, 'dw_cols');
  let y = g.op('ReduceSum', [g.op('Mul', [cols, w2d]), g.ints('axis1', [1])], { keepdims: 0 }, 'depthwise');
  if (bias) y = g.op('Add', [y, bias]);
  return { y: g.op('Reshape', [y, g.ints('shape', [-1, win.oh, win.ow, channels])], {}, 'dw_out'), cols };
}

/** DepthwiseConv2D with gradients; dX correlates the (dilated, padded) dY with the flipped kernel. */
export function depthwiseConv2d(t: Tape, x: string, kernel: string, bias: string | undefined, win: Window, channels: number, needsInputGrad: boolean): string {
  const { g } = t;
  const w2d = g.op('Reshape', [kernel, g.ints('shape', [win.kh * win.kw, channels])], {}, 'dw_w2d');
  const { y, cols } = depthwiseForward(t, x, w2d, win, channels, bias);
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    const dy3 = g.op('Reshape', [dy, g.ints('shape', [-1, 1, channels])]);
    const dw = g.op('ReduceSum', [g.op('Mul', [cols, dy3]), g.ints('axis0', [0])], { keepdims: 0 }, 'dW_dw');
    t.accumulate(kernel, g.op('Reshape', [dw, g.op('Shape', [kernel])]));
    if (bias) t.accumulate(bias, g.op('ReduceSum', [g.op('Reshape', [dy, g.ints('shape', [-1, channels])]), g.ints('axis0', [0])], { keepdims: 0 }));
    if (!needsInputGrad) return;
    const flipped = g.op(
      'Slice',
      [w2d, g.ints('starts', [-1]), g.ints('ends', [-(win.kh * win.kw + 1)]), g.ints('axes', [0]), g.ints('steps', [-1])],
      {},
      'dw_flipped',
    );
    t.accumulate(
      x,
      inputGradient(t, dy, win, channels, (dyd, back) => depthwiseForward(t, dyd, flipped, back, channels).y),
    );
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
  const axes = g.ints(
    'bn_axes',
    Array.from({ length: rank - 1 }, (_, i) => i),
  );
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    t.accumulate(gamma, g.op('ReduceSum', [g.op('Mul', [dy, xhat]), axes], { keepdims: 0 }, 'dgamma'));
    t.accumulate(beta, g.op('ReduceSum', [dy, axes], { keepdims: 0 }, 'dbeta'));
    t.accumulate(x, g.op('Mul', [dy, g.op('Mul', [gamma, g.constant('bn_inv_std', inv, [n])])], {}, 'dbn'));
  });
  return y;
}

/** Sums a gradient over the axes along which its value was broadcast (shapes without the batch). */
function unbroadcast(g: GraphBuilder, grad: string, from: number[], to: number[]): string {
  const axes = to.map((d, i) => (d === 1 && from[i] !== 1 ? i + 1 : -1)).filter((a) => a >= 0);
  return axes.length ? g.op('ReduceSum', [grad, g.ints('axes', axes)], { keepdims: 1 }, 'unbroadcast') : grad;
}

/** Elementwise sum or product of several values (Keras's Add / Multiply), broadcasting allowed. */
export function combine(t: Tape, op: 'Add' | 'Mul', xs: string[], shapes: number[][], outShape: number[]): string {
  const { g } = t;
  let y = xs[0];
  for (const x of xs.slice(1)) y = g.op(op, [y, x], {}, op === 'Add' ? 'add' : 'mul');
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    xs.forEach((x, i) => {
      let d = dy;
      if (op === 'Mul') for (const [k, other] of xs.entries()) if (k !== i) d = g.op('Mul', [d, other]);
      t.accumulate(x, unbroadcast(g, d, outShape, shapes[i]));
    });
  });
  return y;
}

/** Concatenation along the last axis (channels); the gradient splits back. */
export function concatLast(t: Tape, xs: string[], sizes: number[]): string {
  const { g } = t;
  const y = g.op('Concat', xs, { axis: -1 }, 'concat');
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    xs.forEach((x, i) => {
      const start = sizes.slice(0, i).reduce((a, b) => a + b, 0);
      t.accumulate(x, g.op('Slice', [dy, g.ints('starts', [start]), g.ints('ends', [start + sizes[i]]), g.ints('axes', [-1])], {}, 'dconcat'));
    });
  });
  return y;
}

/** Global average or max pooling over height and width → [N, C]. */
export function globalPool(t: Tape, x: string, kind: 'avg' | 'max', h: number, w: number, channels: number): string {
  const { g } = t;
  const y = g.op(kind === 'avg' ? 'ReduceMean' : 'ReduceMax', [x], { axes: [1, 2], keepdims: 0 }, `global_${kind}`);
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    const dyb = g.op('Reshape', [dy, g.ints('shape', [-1, 1, 1, channels])]);
    const spread =
      kind === 'avg'
        ? g.op('Div', [dyb, g.constant('hw', [h * w], [])])
        : g.op('Mul', [g.op('Cast', [g.op('Equal', [x, g.op('Reshape', [y, g.ints('shape', [-1, 1, 1, channels])])])], { to: 1 }), dyb]);
    t.accumulate(x, g.op('Expand', [spread, g.op('Shape', [x])], {}, `dglobal_${kind}`));
  });
  return y;
}

/** Zero padding of height and width; the gradient is the unpadded middle. */
export function zeroPad(t: Tape, x: string, [[top, bottom], [left, right]]: number[][], h: number, w: number): string {
  const { g } = t;
  const y = g.op('Pad', [x, g.ints('pads', [0, top, left, 0, 0, bottom, right, 0])], { mode: 'constant' }, 'zero_pad');
  t.record(() => {
    const dy = t.grad(y);
    if (dy) t.accumulate(x, g.op('Slice', [dy, g.ints('starts', [top, left]), g.ints('ends', [top + h, left + w]), g.ints('axes', [1, 2])], {}, 'dpad'));
  });
  return y;
}

/** Reshape to [N, ...target] (channels-last order, as Keras); the gradient reshapes back. */
export function reshape(t: Tape, x: string, target: number[]): string {
  const { g } = t;
  const y = g.op('Reshape', [x, g.ints('shape', [-1, ...target])], {}, 'reshape');
  t.record(() => {
    const dy = t.grad(y);
    if (dy) t.accumulate(x, g.op('Reshape', [dy, g.op('Shape', [x])], {}, 'dreshape'));
  });
  return y;
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
  t.record(() => {
    const dy = t.grad(y);
    if (dy)
      t.accumulate(
        x,
        inputGradient(t, g.op('Mul', [dy, inv]), win, channels, (dyd, back) => depthwiseForward(t, dyd, ones, back, channels).y),
      );
  });
  return y;
}
