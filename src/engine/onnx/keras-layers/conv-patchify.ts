// The input gradient of a patchify convolution (kernel = stride, no padding, the map a whole number of patches:
// ConvNeXt's 2×2/2 downsampling, ViT-style patch embeddings): each input pixel is in exactly one window, so dX is
// one Gemm dY·Wᵀ giving every window's [KH·KW·CI] back, then a depth-to-space Transpose. The general rule (dY
// dilated and padded, im2col, the flipped kernel) multiplies KH·KW times as many rows, most of them zeros.
import type { GraphBuilder } from '../graph.js';
import type { Window } from './window.js';

export const patchify = (win: Window): boolean =>
  win.kh === win.stride && win.kw === win.stride && win.stride > 1 && win.pads.every((p) => p === 0) && win.oh * win.kh === win.h && win.ow * win.kw === win.w;

/** dX [N, H, W, CI] from dY as [N·OH·OW, CO] and the kernel as [KH·KW·CI, CO]. */
export function patchInputGradient(g: GraphBuilder, dy2d: string, w2d: string, win: Window, ci: number): string {
  const windows = g.op('Gemm', [dy2d, w2d], { transB: 1 }, 'dX_patches');
  const cells = g.op('Reshape', [windows, g.ints('shape', [-1, win.oh, win.ow, win.kh, win.kw, ci])]);
  const placed = g.op('Transpose', [cells], { perm: [0, 1, 3, 2, 4, 5] }, 'dX_depth_to_space');
  return g.op('Reshape', [placed, g.ints('shape', [-1, win.h, win.w, ci])], {}, 'dX_nhwc');
}
