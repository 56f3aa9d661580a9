// A wide 3×3 stride-1 Conv2D in the training graph as Winograd's F(4×4, 3×3) (conv-winograd.ts), with a fused
// backward that stays in the transformed domain: dW from the tiles' products (36 matrices of CI × CO over the batch's
// tiles, a quarter of im2col's work), dX as the same tiled product of dY with the flipped kernel.
import { AREA, KERNEL_TRANSFORM, M, OUTPUT_TRANSFORM, tileGrid, tiledConv } from './conv-winograd.js';
import type { Tape } from './tape.js';
import { type Window, inputGradient } from './window.js';

/** A matrix [rows, cols] transposed. */
function transposed(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

/** (G⊗G) with its 9 taps reversed: the transform of the kernel flipped in both spatial axes. */
const FLIPPED_KERNEL_TRANSFORM = KERNEL_TRANSFORM.map((_, i) => KERNEL_TRANSFORM[i - (i % 9) + 8 - (i % 9)]);

/** x [N, H, W, CI] channels last, kernel HWIO [3, 3, CI, CO] (a graph input) → y [N, OH, OW, CO]. */
export function winogradConv2d(t: Tape, x: string, kernel: string, bias: string | undefined, win: Window, ci: number, co: number): string {
  const { g } = t;
  const taps = g.op('Reshape', [kernel, g.ints('taps', [9, ci * co])], {}, 'w_taps');
  const transform = (name: string, matrix: Float32Array) => g.op('MatMul', [g.constant(name, matrix, [AREA, 9]), taps], {}, name);
  const u = g.op('Reshape', [transform('w_tiles', KERNEL_TRANSFORM), g.ints('u', [AREA, ci, co])]);
  const { y: product, tiles } = tiledConv(g, x, u, win, ci, co, 'conv');
  const y = bias ? g.op('Add', [product, bias], {}, 'conv_bias') : product;
  t.fuse(y, [x, kernel, bias ?? ''], (dy, wants) => {
    const db = wants(2) ? g.op('ReduceSum', [g.op('Reshape', [dy, g.ints('dy2d', [-1, co])]), g.ints('axis0', [0])], { keepdims: 0 }, 'db') : undefined;
    let dw: string | undefined;
    if (wants(1)) {
      // dY's 4×4 blocks through Aᵀ⊗Aᵀ transposed give the products' gradient, [36, N·tiles, CO]; with the input's
      // tiles that is dU [36, CI, CO], and (G⊗G)ᵀ takes it back to the kernel's taps.
      const [th, tw] = tileGrid(win);
      const full = th * M > win.oh || tw * M > win.ow ? g.op('Pad', [dy, g.ints('dy_pads', [0, 0, 0, 0, 0, th * M - win.oh, tw * M - win.ow, 0])]) : dy;
      const cells = g.op('Reshape', [full, g.ints('dy_cells', [-1, th, M, tw, M, co])]);
      const blocks = g.op('Reshape', [g.op('Transpose', [cells], { perm: [2, 4, 0, 1, 3, 5] }), g.ints('dy_blocks', [M * M, -1])]);
      const dm = g.op('MatMul', [g.constant('At_t', transposed(OUTPUT_TRANSFORM, M * M, AREA), [AREA, M * M]), blocks], {}, 'dM');
      const du = g.op('MatMul', [g.op('Transpose', [tiles], { perm: [0, 2, 1] }), g.op('Reshape', [dm, g.ints('dm', [AREA, -1, co])])], {}, 'dU');
      const dtaps = g.op(
        'MatMul',
        [g.constant('Gt', transposed(KERNEL_TRANSFORM, AREA, 9), [9, AREA]), g.op('Reshape', [du, g.ints('du', [AREA, ci * co])])],
        {},
        'dW',
      );
      dw = g.op('Reshape', [dtaps, g.op('Shape', [kernel])], {}, 'dW_hwio');
    }
    if (!wants(0)) return [undefined, dw, db];
    // dX correlates dY with the flipped kernel, its channels swapped: the flipped kernel's transform, [36, CO, CI].
    const back = g.op('Transpose', [g.op('Reshape', [transform('w_flipped_tiles', FLIPPED_KERNEL_TRANSFORM), g.ints('uf', [AREA, ci, co])])], {
      perm: [0, 2, 1],
    });
    const dx = inputGradient(t, dy, win, co, (dyd, w) => tiledConv(g, dyd, back, w, co, ci, 'dX').y);
    return [dx, dw, db];
  });
  return y;
}
