// A convolution over fewer input pixels than its kernel has taps (VGG16's block 5 at 32×32: 3×3 over 2×2), for
// training: each output position is one product of the whole flattened image with the kernel taps that reach it,
// so the padding taps im2col would multiply (5 of 9 there) are never computed — in the forward and both gradients.
import type { Tape } from './tape.js';
import type { Window } from './window.js';

/** Largest [positions·pixels·CI·CO] gathered kernel built per step (VGG16's 2×2 block: 4M). */
const MAX_GATHERED = 16 * 2 ** 20;

/** For each output position o and input pixel p, the kernel tap linking them, or `none` where no tap does. */
function tapTable(win: Window, none: number): number[][] {
  const table: number[][] = [];
  for (let oh = 0; oh < win.oh; oh++)
    for (let ow = 0; ow < win.ow; ow++) {
      const row: number[] = [];
      for (let ph = 0; ph < win.h; ph++)
        for (let pw = 0; pw < win.w; pw++) {
          const i = ph - (oh * win.stride - win.pads[0]);
          const j = pw - (ow * win.stride - win.pads[2]);
          row.push(i >= 0 && i < win.kh && j >= 0 && j < win.kw ? i * win.kw + j : none);
        }
      table.push(row);
    }
  return table;
}

/** Whether smallConv applies: fewer pixels than taps, and a gathered kernel of bounded size. */
export const smallImage = (win: Window, ci: number, co: number): boolean =>
  win.h * win.w < win.kh * win.kw && win.oh * win.ow * win.h * win.w * ci * co <= MAX_GATHERED;

/**
 * Conv2D as a batched MatMul over output positions: y[o] = x_flat · W[o], W[o] the taps reaching o, gathered from
 * the kernel ([pixels·CI, CO] each; a zero tap where a pixel is outside o's window). dX = Σ_o dY[o]·W[o]ᵀ over the
 * same gathered taps; dW sums each position's Xᵀ·dY[o] into its taps.
 */
export function smallConv(t: Tape, x: string, kernel: string, bias: string | undefined, win: Window, ci: number, co: number): string {
  const { g } = t;
  const taps = win.kh * win.kw;
  const positions = win.oh * win.ow;
  const pixels = win.h * win.w;
  const table = tapTable(win, taps);
  const padded = table.some((row) => row.includes(taps));
  const w3d = g.op('Reshape', [kernel, g.ints('shape', [taps, ci, co])]);
  const withZero = (w: string, a: number, b: number) =>
    padded ? g.op('Concat', [w, g.constant('zero_tap', new Float32Array(a * b), [1, a, b])], { axis: 0 }) : w;
  const gathered = g.op('Gather', [withZero(w3d, ci, co), g.ints('tap_table', table.flat())], { axis: 0 });
  const perPosition = g.op('Reshape', [gathered, g.ints('shape', [positions, pixels * ci, co])], {}, 'w_positions');
  const x2d = g.op('Reshape', [x, g.ints('shape', [-1, pixels * ci])], {}, 'x_flat');
  const yo = g.op('MatMul', [x2d, perPosition], {}, 'conv');
  let y = g.op('Reshape', [g.op('Transpose', [yo], { perm: [1, 0, 2] }), g.ints('shape', [-1, win.oh, win.ow, co])], {}, 'conv_out');
  if (bias) y = g.op('Add', [y, bias], {}, 'conv_bias');
  t.fuse(y, [x, kernel, bias ?? ''], (dy, wants) => {
    const dy2d = g.op('Reshape', [dy, g.ints('shape', [-1, co])], {}, 'dy2d');
    const db = wants(2) ? g.op('ReduceSum', [dy2d, g.ints('axis0', [0])], { keepdims: 0 }, 'db') : undefined;
    // dY by position: [positions, N, CO].
    const dyo = g.op('Transpose', [g.op('Reshape', [dy, g.ints('shape', [-1, positions, co])])], { perm: [1, 0, 2] });
    let dw: string | undefined;
    if (wants(1)) {
      const dwo = g.op('MatMul', [g.op('Transpose', [x2d], { perm: [1, 0] }), dyo], {}, 'dW_positions');
      // Each (position, pixel) block added into its tap: a 0/1 matrix [taps, positions·pixels] times the blocks.
      const sum = new Float32Array((taps + 1) * positions * pixels);
      table.flat().forEach((tap, k) => (sum[tap * positions * pixels + k] = 1));
      const rows = padded ? taps + 1 : taps;
      const tapSums = g.op('MatMul', [
        g.constant('tap_sum', sum.subarray(0, rows * positions * pixels), [rows, positions * pixels]),
        g.op('Reshape', [dwo, g.ints('shape', [positions * pixels, ci * co])]),
      ]);
      const dw3 = padded ? g.op('Slice', [tapSums, g.ints('starts', [0]), g.ints('ends', [taps]), g.ints('axes', [0])]) : tapSums;
      dw = g.op('Reshape', [dw3, g.op('Shape', [kernel])], {}, 'dW_hwio');
    }
    if (!wants(0)) return [undefined, dw, db];
    // dX = Σ_o dY[o]·W[o]ᵀ over the forward's gathered taps (ORT fuses the transpose into the MatMul): gathering
    // the transposed kernel again per pixel cost a kernel-size Transpose and a gathered copy per step.
    const dxo = g.op('MatMul', [dyo, g.op('Transpose', [perPosition], { perm: [0, 2, 1] })], {}, 'dX_positions');
    const dx = g.op('ReduceSum', [dxo, g.ints('axis0', [0])], { keepdims: 0 }, 'dX');
    return [g.op('Reshape', [dx, g.ints('shape', [-1, win.h, win.w, ci])], {}, 'dX_nhwc'), dw, db];
  });
  return y;
}
