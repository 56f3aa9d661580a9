// The algebra of dims in static shape inference: numbers, names for symbolic ones (the batch 'N'), products of
// names ('3*N', from Flatten), or '?…' when unknowable here; broadcasting, node attributes, small tensors' values.
import type { Dim, NodeValue, TensorValue } from '../proto.js';

export const Elem = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

export interface ValueFacts {
  dims?: Dim[];
  type: number;
  /** The value of a small integer tensor (rank 0 or 1), when known. */
  ints?: Dim[];
  /** The value of a small constant float tensor (Resize's scales), when known. */
  floats?: number[];
}

let unknownCount = 0;
export const unknown = (): Dim => `?${++unknownCount}`;
export const isUnknown = (d: Dim): boolean => typeof d === 'string' && d.startsWith('?');

/** A dim as a numeric factor and a sorted list of symbolic factors. */
function factors(d: Dim): { num: number; syms: string[] } {
  if (typeof d === 'number') return { num: d, syms: [] };
  let num = 1;
  const syms: string[] = [];
  for (const f of d.split('*')) {
    if (/^\d+$/.test(f)) num *= Number(f);
    else syms.push(f);
  }
  return { num, syms: syms.sort() };
}

function fromFactors(num: number, syms: string[]): Dim {
  if (syms.length === 0) return num;
  if (syms.some((s) => s.startsWith('?'))) return unknown();
  return num === 1 && syms.length === 1 ? syms[0] : [...(num === 1 ? [] : [String(num)]), ...syms.sort()].join('*');
}

export function product(dims: Dim[]): Dim {
  let num = 1;
  const syms: string[] = [];
  for (const d of dims) {
    const f = factors(d);
    num *= f.num;
    syms.push(...f.syms);
  }
  return fromFactors(num, syms);
}

/** `total / part` when it divides out (symbols cancel), else unknown. */
export function quotient(total: Dim, part: Dim): Dim {
  const t = factors(total);
  const p = factors(part);
  const rest = [...t.syms];
  for (const s of p.syms) {
    const i = rest.indexOf(s);
    if (i < 0) return unknown();
    rest.splice(i, 1);
  }
  if (p.num === 0 || t.num % p.num !== 0) return unknown();
  return fromFactors(t.num / p.num, rest);
}

export function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1 || a === b) return a;
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return isUnknown(a) ? b : a;
}

export function broadcast(shapes: Array<Dim[] | undefined>): Dim[] | undefined {
  if (shapes.some((s) => !s)) return undefined;
  const rank = Math.max(...shapes.map((s) => (s as Dim[]).length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes as Dim[][]) {
      const k = i - (rank - s.length);
      if (k >= 0) d = broadcastDim(d, s[k]);
    }
    out.push(d);
  }
  return out;
}

/** Reads an attribute of a node, or `fallback`. */
export function attr(node: NodeValue, name: string, fallback: number): number;
export function attr(node: NodeValue, name: string, fallback: string): string;
export function attr<T>(node: NodeValue, name: string, fallback: T): T;
export function attr<T>(node: NodeValue, name: string, fallback: T): T {
  const v = node.attributes[name] as unknown;
  if (v === undefined) return fallback;
  if (typeof v === 'object' && v !== null && 'float' in v) return (v as { float: number }).float as T;
  if (typeof v === 'object' && v !== null && 'floats' in v) return (v as { floats: number[] }).floats as T;
  return v as T;
}

/** The integer values of an int64/int32 initializer (or of a tensor attribute with raw data). */
export function tensorInts(t: Pick<TensorValue, 'dims' | 'dataType' | 'raw'>): Dim[] | undefined {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.dims.length > 1 || count > 64) return undefined;
  const view = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  if (t.dataType === Elem.INT64 && t.raw.byteLength === count * 8) return Array.from({ length: count }, (_, i) => Number(view.getBigInt64(i * 8, true)));
  if ((t.dataType as number) === Elem.INT32 && t.raw.byteLength === count * 4) return Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true));
  return undefined;
}

/** The values of a small float32 initializer or constant. */
export function tensorFloats(t: Pick<TensorValue, 'dims' | 'dataType' | 'raw'>): number[] | undefined {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.dims.length > 1 || count > 64 || t.dataType !== Elem.FLOAT || t.raw.byteLength !== count * 4) return undefined;
  const view = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  return Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
}

export const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

export const FLOATS: Set<number> = new Set([Elem.FLOAT, Elem.DOUBLE]);

/** A value's known numbers: its floats, or integers without symbolic dims. */
export const numbers = (f: ValueFacts | undefined): number[] | undefined =>
  f?.floats ?? (f?.ints?.every((d) => typeof d === 'number') ? (f.ints as number[]) : undefined);
