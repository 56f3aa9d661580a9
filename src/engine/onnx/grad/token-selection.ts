// A selection of positions along one axis of a value (a ViT's class token along the token axis), as the
// token-liveness pass (prune-tokens.ts) moves it up the graph: how it maps through layout changes, and the nodes
// that take it from a value computed whole.
import type { GraphBuilder } from '../graph.js';
import type { Dim } from '../proto.js';
import { product, quotient } from './dims.js';

export interface Selection {
  axis: number;
  /**
   * The axis's size is outer·size·inner, the selected factor between the other two (both 1 unless a reshape
   * merged axes: TorchScript's [tokens·N, 768] before a Gemm).
   */
  outer: Dim;
  size: number;
  inner: Dim;
  /** Selected positions of the `size` factor, ascending. */
  indices: number[];
}

export const selectionKey = (s: Selection): string => JSON.stringify([s.axis, s.outer, s.size, s.inner, s.indices]);
export const sameSelection = (a: Selection, b: Selection): boolean => selectionKey(a) === selectionKey(b);
const same = (a: Dim, b: Dim): boolean => product([a]) === product([b]);
const known = (d: Dim): boolean => typeof d === 'number' || !d.includes('?');

/** The axis's size once selected. */
export const selectedDim = (s: Selection): Dim => product([s.outer, s.indices.length, s.inner]);

/**
 * The same elements in a value of `to` dims holding the selected value's elements in the same flat order (a
 * reshape's other side): the axis whose prefix product and size hold the selected factor whole.
 */
export function mapLayout(s: Selection, from: Dim[], to: Dim[]): Selection | undefined {
  const before = product([...from.slice(0, s.axis), s.outer]);
  const after = product([s.inner, ...from.slice(s.axis + 1)]);
  if (![before, after, ...to].every(known)) return undefined;
  for (let b = 0; b < to.length; b++) {
    const pre = product(to.slice(0, b));
    const outer = quotient(before, pre);
    const inner = quotient(to[b], product([outer, s.size]));
    if (!known(outer) || !known(inner) || !same(product([pre, outer]), before)) continue;
    if (same(product([inner, ...to.slice(b + 1)]), after)) return { ...s, axis: b, outer, inner };
  }
  return undefined;
}

/** A shape for Reshape: numbers, with −1 for the one symbolic dim (undefined where there are more). */
export function reshapeTarget(dims: Dim[]): number[] | undefined {
  if (dims.filter((d) => typeof d !== 'number').length > 1) return undefined;
  return dims.map((d) => (typeof d === 'number' ? d : -1));
}

/** `dims` with the selection applied. */
export const selectedDims = (s: Selection, dims: Dim[]): Dim[] => dims.map((d, i) => (i === s.axis ? selectedDim(s) : d));

/** Whether `take` can make the selection from a value of `dims` computed whole. */
export function takeable(s: Selection, dims: Dim[]): boolean {
  if (s.outer === 1 && s.inner === 1) return true;
  const split = [...dims.slice(0, s.axis), s.outer, s.size, s.inner, ...dims.slice(s.axis + 1)];
  return !!reshapeTarget(split) && !!reshapeTarget(selectedDims(s, dims));
}

const contiguous = (indices: number[]) => indices.every((p, i) => p === indices[0] + i);

/** The positions along one axis: a Slice where they are contiguous (its gradient a Pad), else a Gather. */
export function pick(g: GraphBuilder, x: string, axis: number, indices: number[]): string {
  if (!contiguous(indices)) return g.op('Gather', [x, g.ints('tokens', indices)], { axis }, 'tokens');
  return span(g, x, axis, indices[0], indices[indices.length - 1] + 1);
}

const span = (g: GraphBuilder, x: string, axis: number, start: number, end: number) =>
  g.op('Slice', [x, g.ints('starts', [start]), g.ints('ends', [end]), g.ints('axes', [axis])], {}, 'tokens');

/** The selection of `x` (of `dims`, computed whole): a merged axis is split around the selected factor first. */
export function take(g: GraphBuilder, x: string, dims: Dim[], s: Selection): string {
  if (s.outer === 1 && s.inner === 1) return pick(g, x, s.axis, s.indices);
  // Contiguous blocks of a known size (a packed projection's q or kv columns): one Slice.
  if (s.outer === 1 && typeof s.inner === 'number' && contiguous(s.indices))
    return span(g, x, s.axis, s.indices[0] * s.inner, (s.indices[s.indices.length - 1] + 1) * s.inner);
  const split = [...dims.slice(0, s.axis), s.outer, s.size, s.inner, ...dims.slice(s.axis + 1)];
  const parts = g.op('Reshape', [x, g.ints('shape', reshapeTarget(split) as number[])]);
  return g.op('Reshape', [pick(g, parts, s.axis + 1, s.indices), g.ints('shape', reshapeTarget(selectedDims(s, dims)) as number[])], {}, 'tokens');
}
