// Gradients of MatMul (batched, broadcasting, 1-D operands) and Gemm (transA/transB/alpha/beta).
import type { Dim } from '../proto.js';
import { type GradContext, type GradRule, dimsOf, rankOf, scalar, shapeOf, unbroadcast } from './context.js';
import { productAtB } from '../transposed-product.js';
import { attr } from './dims.js';

/** Swaps the last two axes. */
function swapLast(c: GradContext, v: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return c.g.op('Transpose', [v], { perm }, 'swap');
}

const matmul: GradRule = (c) => {
  const { g, node } = c;
  const [a, b] = node.inputs;
  const dy = c.dy() as string;
  const ra = rankOf(c, a);
  const rb = rankOf(c, b);
  const bDims = dimsOf(c, b) as Dim[];
  if (ra === 1 && rb === 1) return [c.wants(0) ? g.op('Mul', [dy, b]) : undefined, c.wants(1) ? g.op('Mul', [dy, a]) : undefined];
  if (ra >= 2 && rb === 2 && bDims.every((d) => typeof d === 'number')) {
    // The common x·W: no broadcasting over W, so both products run as single 2-D Gemms over flattened rows.
    const [k, n] = bDims as number[];
    const flat = ra === 2;
    const dy2 = flat ? dy : g.op('Reshape', [dy, g.ints('shape', [-1, n])]);
    const dA2 = c.wants(0) ? g.op('Gemm', [dy2, b], { transB: 1 }, 'dA') : undefined;
    const da = dA2 && !flat ? g.op('Reshape', [dA2, shapeOf(g, a)], {}, 'dA') : dA2;
    const a2 = flat ? a : g.op('Reshape', [a, g.ints('shape', [-1, k])]);
    const db = c.wants(1) ? productAtB(g, a2, dy2, n, false, 'dB') : undefined;
    return [da, db];
  }
  const out = dimsOf(c, node.outputs[0]);
  const batch = out?.slice(0, out.length - (ra === 1 ? 0 : 1) - (rb === 1 ? 0 : 1));
  const aDims = dimsOf(c, a) as Dim[];
  const a2 = ra === 1 ? g.op('Unsqueeze', [a, g.ints('axes', [0])]) : a;
  const b2 = rb === 1 ? g.op('Unsqueeze', [b, g.ints('axes', [1])]) : b;
  const dy2 = ra === 1 ? g.op('Unsqueeze', [dy, g.ints('axes', [-2])]) : rb === 1 ? g.op('Unsqueeze', [dy, g.ints('axes', [-1])]) : dy;
  const rank2 = (r: number, dims: Dim[]) => (r === 1 ? 2 : dims.length);
  let da: string | undefined;
  let db: string | undefined;
  if (c.wants(0)) {
    da = g.op('MatMul', [dy2, swapLast(c, b2, rank2(rb, bDims))], {}, 'dA');
    if (ra === 1) da = g.op('Squeeze', [da, g.ints('axes', [-2])]);
    da = unbroadcast(c, da, batch && [...batch, ...aDims.slice(-2)], a);
  }
  if (c.wants(1)) {
    db = g.op('MatMul', [swapLast(c, a2, rank2(ra, aDims)), dy2], {}, 'dB');
    if (rb === 1) db = g.op('Squeeze', [db, g.ints('axes', [-1])]);
    db = unbroadcast(c, db, batch && [...batch, ...bDims.slice(-2)], b);
  }
  return [da, db];
};

const gemm: GradRule = (c) => {
  const { g, node } = c;
  const [a, b, bias] = node.inputs;
  const dy = c.dy() as string;
  const alpha = attr(node, 'alpha', 1);
  const beta = attr(node, 'beta', 1);
  const ta = attr(node, 'transA', 0);
  const tb = attr(node, 'transB', 0);
  // With A' = op(A), B' = op(B): dA' = dY·B'ᵀ, dB' = A'ᵀ·dY, each transposed back where A or B was. Attributes at
  // their defaults are left out: fold-momentum.ts folds the update into a plain Aᵀ·B Gemm only.
  const attrs = (transA: number, transB: number) => ({
    ...(transA ? { transA } : {}),
    ...(transB ? { transB } : {}),
    ...(alpha === 1 ? {} : { alpha: { float: alpha } }),
  });
  let da: string | undefined;
  let db: string | undefined;
  if (c.wants(0)) da = ta ? g.op('Gemm', [b, dy], attrs(tb, 1), 'dA') : g.op('Gemm', [dy, b], attrs(0, tb ? 0 : 1), 'dA');
  if (c.wants(1)) db = tb ? g.op('Gemm', [dy, a], attrs(1, ta), 'dB') : g.op('Gemm', [a, dy], attrs(ta ? 0 : 1, 0), 'dB');
  let dc: string | undefined;
  if (bias && c.wants(2)) dc = unbroadcast(c, beta === 1 ? dy : g.op('Mul', [dy, scalar(g, beta, 'beta')]), dimsOf(c, node.outputs[0]), bias);
  return [da, db, dc];
};

export const matmulRules: Record<string, GradRule> = { MatMul: matmul, Gemm: gemm };
