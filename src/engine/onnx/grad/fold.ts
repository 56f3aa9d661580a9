// Folding of small integer and float tensors (shape arithmetic: Shape → Gather → Concat → Reshape, as exporters
// write it), symbolically where they hold a symbolic dim.
import type { Dim } from '../proto.js';
import { product, quotient, unknown } from './dims.js';

/** ONNX Round: halves to even. */
export const roundHalfEven = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));

/** Float arithmetic on small constant vectors (shape arithmetic done in floats). */
export function foldFloats(op: string, args: Array<number[] | undefined>): number[] | undefined {
  const f = {
    Add: (p: number, q: number) => p + q,
    Sub: (p: number, q: number) => p - q,
    Mul: (p: number, q: number) => p * q,
    Div: (p: number, q: number) => p / q,
    Pow: (p: number, q: number) => p ** q,
  }[op];
  if (!f || args.length !== 2 || args.some((a) => !a)) return undefined;
  const [a, b] = args as number[][];
  const n = Math.max(a.length, b.length);
  if ((a.length !== n && a.length !== 1) || (b.length !== n && b.length !== 1)) return undefined;
  return Array.from({ length: n }, (_, i) => Math.fround(f(a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i])));
}

/** An elementwise op on folded integers (shape arithmetic). */
export function foldInts(op: string, args: Array<Dim[] | undefined>): Dim[] | undefined {
  if (args.length === 0 || args.some((a) => !a)) return undefined;
  const vs = args as Dim[][];
  const n = Math.max(...vs.map((a) => a.length));
  if (vs.some((a) => a.length !== n && a.length !== 1)) return undefined;
  const at = (a: Dim[], i: number) => a[a.length === 1 ? 0 : i];
  const numeric = (p: Dim, q: Dim) => typeof p === 'number' && typeof q === 'number';
  // Mul and Div fold symbolic dims too (attention's batch·heads, as torch's exporter writes it); a symbolic dim
  // is a size, so never negative (torch's expand(N, -1) tests dims against −1).
  const f: ((p: Dim, q: Dim, r: Dim) => Dim | undefined) | undefined = {
    Add: (p: Dim, q: Dim) => (numeric(p, q) ? (p as number) + (q as number) : undefined),
    Sub: (p: Dim, q: Dim) => (numeric(p, q) ? (p as number) - (q as number) : undefined),
    Mul: (p: Dim, q: Dim) => product([p, q]),
    Div: (p: Dim, q: Dim) => (numeric(p, q) ? Math.trunc((p as number) / (q as number)) : quotient(p, q)),
    Max: (p: Dim, q: Dim) => (numeric(p, q) ? Math.max(p as number, q as number) : undefined),
    Min: (p: Dim, q: Dim) => (numeric(p, q) ? Math.min(p as number, q as number) : undefined),
    // fmod=0: the result takes the divisor's sign (Python's %), as torch writes window padding arithmetic.
    Mod: (p: Dim, q: Dim) => (numeric(p, q) && q !== 0 ? (((p as number) % (q as number)) + (q as number)) % (q as number) : undefined),
    Equal: (p: Dim, q: Dim) => (p === q ? 1 : numeric(p, q) || (typeof p === 'number' && p < 0) || (typeof q === 'number' && q < 0) ? 0 : undefined),
    Where: (p: Dim, q: Dim, r: Dim) => (typeof p === 'number' ? (p ? q : r) : undefined),
  }[op];
  if (!f || vs.length !== f.length) return undefined;
  // An element it cannot tell is unknown; the others still fold (a Reshape's static dims beside the batch).
  return Array.from({ length: n }, (_, i) => f(at(vs[0], i), at(vs[1], i), vs[2] && at(vs[2], i)) ?? unknown());
}

/** Folded values of static dims `from` rearranged to `to`, each output position reading input position `source(o)`. */
export function moveInts(from: Dim[], values: Dim[], to: Dim[], source: (o: number[]) => number[]): Dim[] | undefined {
  if (![...from, ...to].every((d) => typeof d === 'number') || values.length !== product(from)) return undefined;
  const inDims = from as number[];
  const outDims = to as number[];
  const total = outDims.reduce((a, b) => a * b, 1);
  return Array.from({ length: total }, (_, flat) => {
    const o = new Array<number>(outDims.length);
    for (let a = outDims.length - 1, rest = flat; a >= 0; a--) {
      o[a] = rest % outDims[a];
      rest = Math.floor(rest / outDims[a]);
    }
    const i = source(o);
    return values[i.reduce((acc, v, a) => acc * inDims[a] + v, 0)];
  });
}
