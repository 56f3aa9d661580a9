// Window geometry (TF's padding rules) and the im2col gather shared by convolutions and pooling, and the input
// gradient of a window op at any stride.
import type { GraphBuilder } from '../graph.js';
import type { Tape } from './tape.js';

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

/** A 1×1 window at stride 1 without padding. */
export const pointwise = (win: Window): boolean => win.kh === 1 && win.kw === 1 && win.stride === 1 && win.pads.every((p) => p === 0);

/**
 * im2col with one Gather: x [N, H, W, C] → [N·OH·OW, KH·KW·C], padding folded in by padding x first. The
 * prototype found this (then one MatMul) the fast, uniform way to run convolutions whose weights are inputs.
 */
export function im2col(g: GraphBuilder, x: string, win: Window, channels: number): string {
  // A 1×1 window at stride 1 gathers each pixel once: its columns are x itself.
  if (pointwise(win)) return g.op('Reshape', [x, g.ints('shape', [-1, channels])], {}, 'cols');
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

/**
 * The input gradient of a window op (convolution, depthwise, pooling sum) at any stride: dY with stride−1 zeros
 * inserted between its pixels, padded, then correlated at stride 1 by `correlate` (with the flipped kernel);
 * input rows and columns no window reached get zeros.
 */
export function inputGradient(t: Tape, dy: string, win: Window, channels: number, correlate: (dyd: string, back: Window) => string): string {
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
