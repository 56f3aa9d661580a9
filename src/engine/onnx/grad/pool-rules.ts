// One rule per ONNX op type for the pool push (pool-push.ts): given a mean over some axes wanted of a node's
// output, the mean wanted of each input (or the input as it is, where it is constant along those axes) — undefined
// where the op is not linear and alike at every pooled position (GELU, LayerNorm, a convolution mixing positions).
import type { AttributeValue, Dim, NodeValue } from '../proto.js';
import { attr } from './dims.js';

/** A mean over `axes` (sorted, of the value's rank), keeping them as size 1 or dropping them. */
export interface Pool {
  axes: number[];
  keepdims: boolean;
}

export interface PoolCall {
  node: NodeValue;
  /** The mean wanted of output 0, over the output's axes. */
  pool: Pool;
  dims(v: string): Dim[] | undefined;
}

export interface PoolPlan {
  inputs: Array<Pool | 'as-is'>;
  /** The rewritten node's attributes, where they change (a Transpose's perm without the dropped axes). */
  attributes?: Record<string, AttributeValue>;
}
export type PoolRule = (c: PoolCall) => PoolPlan | undefined;

const outRank = (c: PoolCall) => c.dims(c.node.outputs[0])?.length;

/**
 * An operand broadcast against the output: its own pooled axes (right-aligned), `varies` where one of them has a
 * size other than 1. One without the axes, or of size 1 there with the axes kept, is read as it is; with them
 * dropped its size-1 axes go too, so right-alignment pairs the remaining axes as before.
 */
function operand(c: PoolCall, v: string): { demand: Pool | 'as-is'; varies: boolean } | undefined {
  const [rank, dims] = [outRank(c), c.dims(v)];
  if (rank === undefined || !dims) return undefined;
  const axes = c.pool.axes.map((a) => a - (rank - dims.length)).filter((a) => a >= 0);
  const varies = axes.some((a) => dims[a] !== 1);
  if (!axes.length || (!varies && c.pool.keepdims)) return { demand: 'as-is', varies };
  return { demand: { axes, keepdims: c.pool.keepdims }, varies };
}

/** Elementwise and linear: sums take means of every operand; products and quotients of one (`varying` says which may vary). */
const linear =
  (mayVary: (i: number, count: number) => boolean): PoolRule =>
  (c) => {
    const ops = c.node.inputs.map((v) => operand(c, v));
    if (ops.some((o) => !o)) return undefined;
    const found = ops as Array<{ demand: Pool | 'as-is'; varies: boolean }>;
    const varying = found.flatMap((o, i) => (o.varies ? [i] : []));
    if (!varying.length || varying.some((i) => !mayVary(i, varying.length))) return undefined;
    return { inputs: found.map((o) => o.demand) };
  };

/** MatMul by a 2-D weight: the mean over A's positions (its rows and batch axes), never over the output's columns. */
const matmul: PoolRule = (c) => {
  const [a, b] = c.node.inputs.map((v) => c.dims(v));
  if (!a || !b || a.length < 2 || b.length !== 2 || c.pool.axes.includes(a.length - 1)) return undefined;
  return { inputs: [c.pool, 'as-is'] };
};

/** Transpose: the pooled axes through the permutation; dropped axes leave it, the rest renumbered. */
const transpose: PoolRule = (c) => {
  const rank = outRank(c);
  if (rank === undefined) return undefined;
  const perm = attr(
    c.node,
    'perm',
    Array.from({ length: rank }, (_, i) => rank - 1 - i),
  );
  const axes = c.pool.axes.map((a) => perm[a]).sort((x, y) => x - y);
  if (c.pool.keepdims) return { inputs: [{ axes, keepdims: true }] };
  const kept = perm.filter((_, i) => !c.pool.axes.includes(i));
  const renumbered = kept.map((p) => kept.filter((q) => q < p).length);
  return { inputs: [{ axes, keepdims: false }], attributes: { ...c.node.attributes, perm: renumbered } };
};

export const POOL_RULES: Readonly<Record<string, PoolRule>> = {
  Add: linear(() => true),
  Sub: linear(() => true),
  Mul: linear((_, count) => count === 1),
  Div: linear((i) => i === 0),
  Neg: linear(() => true),
  Identity: linear(() => true),
  MatMul: matmul,
  Transpose: transpose,
};
