// Pooling in the training graph (channels last), with fused backwards: max pooling routes each window's gradient
// to its first maximum, as tfjs and Keras route ties (the ReduceMax rule would give it to every maximum).
import { depthwiseForward } from './conv-train.js';
import type { Tape } from './tape.js';
import { type Window, im2col, inputGradient } from './window.js';

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
 * maximum taken over each; the gradient scattered back with summation where windows overlap.
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
