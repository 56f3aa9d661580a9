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

/** x @ w (+ b): a Dense layer's product on flat inputs. Gradients: dx = dy wᵀ, dw = xᵀ dy, db = Σ dy. */
export function dense(t: Tape, x: string, w: string, b: string | undefined, needsInputGrad: boolean): string {
  const { g } = t;
  const xw = g.op('MatMul', [x, w], {}, 'dense');
  const y = b ? g.op('Add', [xw, b], {}, 'dense_bias') : xw;
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    t.accumulate(w, g.op('Gemm', [x, dy], { transA: 1 }, 'dW'));
    if (b) t.accumulate(b, g.op('ReduceSum', [dy, g.ints('axis0', [0])], { keepdims: 0 }, 'db'));
    if (needsInputGrad) t.accumulate(x, g.op('Gemm', [dy, w], { transB: 1 }, 'dX'));
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
    default:
      throw new Error(`no gradient for activation '${name}' in the training compiler yet`);
  }
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
function im2col(t: Tape, x: string, win: Window, channels: number): string {
  const { g } = t;
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
  const cols = im2col(t, x, win, ci);
  let y = g.op('MatMul', [cols, w2d], {}, 'conv');
  if (bias) y = g.op('Add', [y, bias], {}, 'conv_bias');
  return { y: g.op('Reshape', [y, g.ints('shape', [-1, win.oh, win.ow, co])], {}, 'conv_out'), cols };
}

/**
 * Conv2D (stride 1 or more, 'same' or 'valid', no dilation) with gradients: dW = colsᵀ·dY, db = Σ dY, and dX
 * (stride 1) as the correlation of the padded dY with the flipped kernel, its channels swapped.
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
    if (win.stride !== 1) throw new Error('the training compiler trains strided convolutions only as the first trained layer');
    const flipped = g.op('Slice', [g.op('Transpose', [kernel], { perm: [0, 1, 3, 2] }), g.ints('starts', [-1, -1]), g.ints('ends', [-(win.kh + 1), -(win.kw + 1)]), g.ints('axes', [0, 1]), g.ints('steps', [-1, -1])], {}, 'w_flipped');
    const top = win.kh - 1 - win.pads[0];
    const left = win.kw - 1 - win.pads[2];
    const back: Window = { h: win.oh, w: win.ow, kh: win.kh, kw: win.kw, stride: 1, oh: win.h, ow: win.w, pads: [top, win.h + win.kh - 1 - win.oh - top, left, win.w + win.kw - 1 - win.ow - left] };
    const w2dBack = g.op('Reshape', [flipped, g.ints('shape', [win.kh * win.kw * co, ci])]);
    t.accumulate(x, convForward(t, dy, w2dBack, back, co, ci).y);
  });
  return y;
}

/**
 * Max pooling with window = stride (VGG's 2×2/2), 'valid': a reshape and a max; backward routes the gradient
 * through an equality mask. Exact ties (rare with real data) give the gradient to every tied maximum, where
 * tfjs and PyTorch pick one.
 */
export function maxPool(t: Tape, x: string, win: Window, channels: number): string {
  const { g } = t;
  const { oh, ow, kh, kw } = win;
  const blocks = g.op('Reshape', [x, g.ints('shape', [-1, oh, kh, ow, kw, channels])], {}, 'pool_blocks');
  const y = g.op('ReduceMax', [blocks], { axes: [2, 4], keepdims: 0 }, 'maxpool');
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    const yb = g.op('Reshape', [y, g.ints('shape', [-1, oh, 1, ow, 1, channels])]);
    const dyb = g.op('Reshape', [dy, g.ints('shape', [-1, oh, 1, ow, 1, channels])]);
    const mask = g.op('Cast', [g.op('Equal', [blocks, yb])], { to: 1 }, 'pool_mask');
    t.accumulate(x, g.op('Reshape', [g.op('Mul', [mask, dyb]), g.ints('shape', [-1, win.h, win.w, channels])], {}, 'dpool'));
  });
  return y;
}
