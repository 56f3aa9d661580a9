// A 3×3 stride-1 convolution as Winograd's F(4×4, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2015): each 4×4 block of outputs from a 6×6 input tile with 36 products per channel pair where the
// direct form needs 144. The matrix work falls 4× and the tile transforms cost a few passes over memory, so it pays
// where channels are wide and images not tiny (docs/engine.md has the measurements). The tiled product here serves
// the inference graph and the training step (conv-winograd-train.ts). Results move by a few 1e-6 of the output's
// scale, as cuDNN's and oneDNN's Winograd kernels do.
import type { GraphBuilder } from '../graph.js';
import { type Weight, toNchw, toNhwc } from './nchw.js';
import type { Value } from './types.js';
import type { Window } from './window.js';

/** Output block side (m) and the tile side it reads (m + 2). */
export const M = 4;
const TILE = M + 2;
export const AREA = TILE * TILE;

/**
 * Narrowest channel counts where the transforms' memory passes cost less than they save, against ORT's direct
 * convolution at inference and im2col + MatMul in a training step (its Gather of 9 copies is dearer: from 64 there,
 * VGG16's 32×32 step 1.27× faster at 128 and 1.35× at 64); and the output sides: 8 and up, or 4 (one block, no
 * padding: VGG16's 4×4 block 4 at 32×32, 512 → 512 at batch 64 1.86× faster); 5 to 7 pad to 8 and lose (5×5 at
 * batch 8: 0.84×, 6×6 0.77×, 7×7 at 128 channels 0.68×).
 */
export const MIN_CHANNELS = { infer: 128, train: 64 };
const sideFits = (side: number) => side >= 8 || side === M;

/**
 * Tile rows (the batch's 4×4 output blocks) from which the form's products pay: with fewer, reading the transformed
 * kernel (4× the weights) costs more than the saved multiply-adds.
 * Measured on 2 cores, one layer per graph (rows: speed-up): 256 → 256 at 8×8, batch 1 (4: 0.52×), batch 2 (8:
 * 0.69×), batch 4 (16: 1.05×), batch 8 (32: 1.53×); 512 → 512 at 14×14, batch 1 (16: 0.73×), batch 2 (32: 1.17×);
 * at 20×20, batch 1 (25: 1.04×); 24×24 (36: 1.20×). In a step (against im2col) the same: VGG16's 32×32 full step
 * with its 4×4 block 4 in the form went 189 → 237 ms at batch 1 and 294 → 328 at 4, 1395 → 1138 at 64.
 */
const MIN_ROWS = 32;

/** The rows of the tile products for a batch of `batch` images: its output blocks. */
const tileRows = (win: Window, batch: number): number => batch * Math.ceil(win.oh / M) * Math.ceil(win.ow / M);

/** The transforms: input tile Bᵀ d B, kernel G g Gᵀ, output Aᵀ m A. */
const BT = [
  [4, 0, -5, 0, 1, 0],
  [0, -4, -4, 1, 1, 0],
  [0, 4, -4, -1, 1, 0],
  [0, -2, -1, 2, 1, 0],
  [0, 2, -1, -2, 1, 0],
  [0, 4, 0, -5, 0, 1],
];
const G = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];
const AT = [
  [1, 1, 1, 1, 1, 0],
  [0, 1, -1, 2, -2, 0],
  [0, 1, 1, 4, 4, 0],
  [0, 1, -1, 8, -8, 1],
];

/** Whether a convolution of this window and these channel counts, in a graph for batches of `batch`, runs as Winograd's F(4×4, 3×3). */
export function winogradFits(win: Window, ci: number, co: number, minChannels: number, batch: number): boolean {
  const shape = win.kh === 3 && win.kw === 3 && win.stride === 1 && sideFits(win.oh) && sideFits(win.ow);
  return shape && Math.min(ci, co) >= minChannels && tileRows(win, batch) >= MIN_ROWS;
}

/** Both-sided products of 2-D matrices: out[i·a+j][p·b+q] = L[i][p] · R[j][q] (Kronecker). */
function kron(l: number[][], r: number[][]): Float32Array {
  const [a, b] = [l[0].length, r[0].length];
  const out = new Float32Array(l.length * r.length * a * b);
  for (let i = 0; i < l.length; i++)
    for (let j = 0; j < r.length; j++) for (let p = 0; p < a; p++) for (let q = 0; q < b; q++) out[((i * r.length + j) * a + p) * b + q] = l[i][p] * r[j][q];
  return out;
}

/** The kernel transform as a matrix over its 9 taps, [36, 9]: U = (G⊗G)·K with K the kernel as [9, CI·CO]. */
export const KERNEL_TRANSFORM = kron(G, G);
/** Bᵀ⊗Bᵀ and Aᵀ⊗Aᵀ as matrices over a tile's 36 values: [36, 36] and [16, 36]. */
const INPUT_TRANSFORM = kron(BT, BT);
export const OUTPUT_TRANSFORM = kron(AT, AT);

/** The kernel transformed, Keras's HWIO in: U [36, CI, CO]. */
function kernelTiles({ values, shape: [, , ci, co] }: Weight): Float32Array {
  const u = new Float32Array(AREA * ci * co);
  for (let ab = 0; ab < AREA; ab++)
    for (let t = 0; t < 9; t++) {
      const f = KERNEL_TRANSFORM[ab * 9 + t];
      if (f === 0) continue;
      for (let k = 0; k < ci * co; k++) u[ab * ci * co + k] += f * values[t * ci * co + k];
    }
  return u;
}

/** Where each tile's 36 inputs lie in the padded image's H·W plane: [36, tiles]. */
function tileIndices(th: number, tw: number, wp: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < TILE; i++)
    for (let j = 0; j < TILE; j++) for (let ti = 0; ti < th; ti++) for (let tj = 0; tj < tw; tj++) out.push((ti * M + i) * wp + tj * M + j);
  return out;
}

/** The tile grid over a window's output: th × tw blocks of 4×4. */
export const tileGrid = (win: Window): [number, number] => [Math.ceil(win.oh / M), Math.ceil(win.ow / M)];

/**
 * x [N, H, W, CI] (channels last) and the transformed kernel U [36, CI, CO] → y [N, OH, OW, CO], where every step
 * reads whole channel rows: one Gather takes each tile's 36 pixels, a MatMul with Bᵀ⊗Bᵀ transforms them, the 36
 * channel products are one batched MatMul over all the batch's tiles, a MatMul with Aᵀ⊗Aᵀ gives each tile's 4×4
 * block, and a Transpose lays the blocks out. Also returns the transformed input as [36, N·tiles, CI] (for dW).
 */
export function tiledConv(g: GraphBuilder, x: string, u: string, win: Window, ci: number, co: number, name: string): { y: string; tiles: string } {
  const [th, tw] = tileGrid(win);
  const [top, , left] = win.pads;
  // Padded so that the tiles cover th·M + 2 rows: below and right, what the last tile needs beyond the image.
  const [hp, wp] = [th * M + 2, tw * M + 2];
  const pads = [0, top, left, 0, 0, hp - win.h - top, wp - win.w - left, 0];
  const xp = g.op('Pad', [x, g.ints(`${name}_pads`, pads)]);
  const plane = g.op('Reshape', [xp, g.ints(`${name}_plane`, [-1, hp * wp, ci])]);
  const d = g.op('Reshape', [
    g.op('Gather', [plane, g.ints(`${name}_tiles`, tileIndices(th, tw, wp))], { axis: 1 }),
    g.ints(`${name}_d`, [-1, AREA, th * tw * ci]),
  ]);
  const v = g.op('MatMul', [g.constant(`${name}_Bt`, INPUT_TRANSFORM, [AREA, AREA]), d], {}, `${name}_v`);
  const tiles = g.op('Reshape', [g.op('Transpose', [v], { perm: [1, 0, 2] }), g.ints(`${name}_vt`, [AREA, -1, ci])]);
  const m = g.op('MatMul', [tiles, u], {}, name);
  const blocks = g.op(
    'MatMul',
    [g.constant(`${name}_At`, OUTPUT_TRANSFORM, [M * M, AREA]), g.op('Reshape', [m, g.ints(`${name}_m`, [AREA, -1])])],
    {},
    `${name}_blocks`,
  );
  const laid = g.op('Transpose', [g.op('Reshape', [blocks, g.ints(`${name}_b`, [M, M, -1, th, tw, co])])], { perm: [2, 3, 0, 4, 1, 5] });
  const y = g.op('Reshape', [laid, g.ints(`${name}_y`, [-1, th * M, tw * M, co])]);
  const cropped =
    th * M > win.oh || tw * M > win.ow
      ? g.op('Slice', [y, g.ints(`${name}_from`, [0, 0]), g.ints(`${name}_to`, [win.oh, win.ow]), g.ints(`${name}_axes`, [1, 2])])
      : y;
  return { y: cropped, tiles };
}

/** x [N, CI, H, W] → [N, CO, OH, OW] in the inference graph, the kernel transformed once into a constant. */
export function winogradConv(g: GraphBuilder, x: Value, name: string, win: Window, kernel: Weight, bias?: Float32Array): Value {
  const [, , ci, co] = kernel.shape;
  const u = g.constant(`${name}_U`, kernelTiles(kernel), [AREA, ci, co]);
  let y = tiledConv(g, toNhwc(g, x).name, u, win, ci, co, name).y;
  if (bias) y = g.op('Add', [y, g.constant(`${name}_B`, bias, [co])], {}, `${name}_bias`);
  return toNchw(g, { name: y, rank: 4 });
}
