// Static shape and type inference over a forward ONNX graph, for the gradient rules that need shapes. Dims are
// numbers, names for symbolic ones (the batch 'N'), products of names ('3*N', from Flatten), or '?…' when
// unknowable here (the rules then read the shape at run time). Small integer tensors (shapes, axes, pads) are
// folded, symbolically where they hold a symbolic dim (Shape → Gather → Concat → Reshape, as exporters write).
import type { Dim, GraphValue, NodeValue, TensorValue } from '../proto.js';
import { einsumTerms } from './einsum-equation.js';

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
const unknown = (): Dim => `?${++unknownCount}`;
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
function quotient(total: Dim, part: Dim): Dim {
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

function broadcastDim(a: Dim, b: Dim): Dim {
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
function tensorInts(t: Pick<TensorValue, 'dims' | 'dataType' | 'raw'>): Dim[] | undefined {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.dims.length > 1 || count > 64) return undefined;
  const view = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  if (t.dataType === Elem.INT64 && t.raw.byteLength === count * 8) return Array.from({ length: count }, (_, i) => Number(view.getBigInt64(i * 8, true)));
  if ((t.dataType as number) === Elem.INT32 && t.raw.byteLength === count * 4) return Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true));
  return undefined;
}

/** The values of a small float32 initializer or constant. */
function tensorFloats(t: Pick<TensorValue, 'dims' | 'dataType' | 'raw'>): number[] | undefined {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.dims.length > 1 || count > 64 || t.dataType !== Elem.FLOAT || t.raw.byteLength !== count * 4) return undefined;
  const view = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  return Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
}

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

const SAME_SHAPE = new Set([
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Gelu',
  'HardSigmoid',
  'HardSwish',
  'Clip',
  'Softmax',
  'LogSoftmax',
  'Neg',
  'Sqrt',
  'Reciprocal',
  'Identity',
  'Dropout',
  'Abs',
  'Exp',
  'Log',
  'Sign',
  'Softplus',
  'Softsign',
  'Mish',
  'Elu',
  'Selu',
  'Floor',
  'Ceil',
  'Not',
  'CumSum',
  'LayerNormalization',
  'BatchNormalization',
  'InstanceNormalization',
  'LpNormalization',
  'Cast',
  'IsNaN',
  'Round',
]);
/** Comparisons and logic: broadcasting, boolean results, no gradient. */
export const COMPARISONS = ['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or'];
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Max', 'Min', 'Sum', 'Mod', ...COMPARISONS]);
export const BOOLEAN = new Set([...COMPARISONS, 'Not', 'IsNaN']);

const FLOATS: Set<number> = new Set([Elem.FLOAT, Elem.DOUBLE]);

/** A value's known numbers: its floats, or integers without symbolic dims. */
const numbers = (f: ValueFacts | undefined): number[] | undefined =>
  f?.floats ?? (f?.ints?.every((d) => typeof d === 'number') ? (f.ints as number[]) : undefined);

/** ONNX Round: halves to even. */
const roundHalfEven = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));

/** Float arithmetic on small constant vectors (shape arithmetic done in floats). */
function foldFloats(op: string, args: Array<number[] | undefined>): number[] | undefined {
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
function foldInts(op: string, args: Array<Dim[] | undefined>): Dim[] | undefined {
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

/** Facts about every value of `graph` (nodes in topological order). */
export function inferShapes(graph: GraphValue): Map<string, ValueFacts> {
  const facts = new Map<string, ValueFacts>();
  for (const i of graph.inputs) facts.set(i.name, { dims: i.dims, type: Elem.FLOAT });
  for (const t of graph.initializers) facts.set(t.name, { dims: t.dims, type: t.dataType, ints: tensorInts(t), floats: tensorFloats(t) });
  for (const node of graph.nodes) {
    const outs = inferNode(node, (v) => facts.get(v));
    node.outputs.forEach((o, i) => {
      if (o) facts.set(o, outs[i] ?? { type: outs[0]?.type ?? Elem.FLOAT });
    });
  }
  return facts;
}

/** Window output size of a convolution or pooling along one axis. */
export function windowOut(size: Dim, k: number, stride: number, dilation: number, padBegin: number, padEnd: number, ceil = false): Dim {
  if (typeof size !== 'number') return unknown();
  const span = (k - 1) * dilation + 1;
  const v = (size + padBegin + padEnd - span) / stride;
  return (ceil ? Math.ceil(v) : Math.floor(v)) + 1;
}

/** Explicit pads (begin…, end…) of a window op, auto_pad resolved against static spatial sizes. */
export function windowPads(node: NodeValue, spatial: Dim[], kernel: number[], strides: number[], dilations: number[]): number[] {
  const r = kernel.length;
  const autoPad = attr(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return attr(node, 'pads', new Array(2 * r).fill(0));
  if (autoPad === 'VALID') return new Array(2 * r).fill(0);
  const pads = new Array(2 * r).fill(0);
  for (let i = 0; i < r; i++) {
    const size = spatial[i];
    if (typeof size !== 'number') throw new Error(`${node.opType} ${node.name}: auto_pad ${autoPad} needs a static spatial size`);
    const out = Math.ceil(size / strides[i]);
    const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size);
    const small = Math.floor(total / 2);
    pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
    pads[i + r] = total - pads[i];
  }
  return pads;
}

/** Kernel, strides, dilations and explicit pads of a Conv/pool node over input dims `x`. */
export function windowOf(node: NodeValue, x: Dim[], kernelDims?: Dim[]) {
  const spatial = x.slice(2);
  const r = spatial.length;
  const kernel = attr<number[] | undefined>(node, 'kernel_shape', undefined) ?? (kernelDims?.slice(2) as number[]);
  const strides = attr(node, 'strides', new Array(r).fill(1));
  const dilations = attr(node, 'dilations', new Array(r).fill(1));
  const pads = windowPads(node, spatial, kernel, strides, dilations);
  const ceil = attr(node, 'ceil_mode', 0) === 1;
  const out = spatial.map((s, i) => windowOut(s, kernel[i], strides[i], dilations[i], pads[i], pads[i + r], ceil));
  return { spatial, kernel, strides, dilations, pads, out };
}

function inferNode(node: NodeValue, get: (v: string) => ValueFacts | undefined): Array<ValueFacts | undefined> {
  const inp = node.inputs.map((v) => (v ? get(v) : undefined));
  const x = inp[0];
  const dims = x?.dims;
  const type = x?.type ?? Elem.FLOAT;
  const rank = dims?.length;
  const ints = (i: number) => inp[i]?.ints;
  const op = node.opType;
  const axesOf = (): number[] | undefined => {
    const a = node.inputs[1] ? ints(1) : attr<number[] | undefined>(node, 'axes', undefined);
    return a?.every((v) => typeof v === 'number') ? (a as number[]) : undefined;
  };
  if (op === 'Cast') {
    // Shape arithmetic in floats (torch's ceil(h / patch)·patch): numbers cross to floats and back, truncated.
    const to = attr(node, 'to', Elem.FLOAT);
    if (FLOATS.has(to)) return [{ dims, type: to, ints: x?.ints, floats: numbers(x) }];
    return [{ dims, type: to, ints: x?.floats?.map(Math.trunc) ?? x?.ints }];
  }
  if (SAME_SHAPE.has(op)) {
    const out: ValueFacts = { dims, type: BOOLEAN.has(op) ? Elem.BOOL : type };
    if (op === 'Dropout') return [out, { dims, type: Elem.BOOL }];
    if (op === 'Identity') Object.assign(out, { ints: x?.ints, floats: x?.floats });
    const round = { Ceil: Math.ceil, Floor: Math.floor, Round: roundHalfEven }[op];
    if (round) out.floats = x?.floats?.map(round);
    return [out];
  }
  if (BROADCAST.has(op)) {
    const shapes = (op === 'Where' ? inp.slice(1) : inp).map((f) => f?.dims);
    const outType = BOOLEAN.has(op) ? Elem.BOOL : op === 'Where' ? (inp[1]?.type ?? Elem.FLOAT) : type;
    const out: ValueFacts = { dims: broadcast(op === 'Where' ? [inp[0]?.dims, ...shapes] : shapes), type: outType };
    if (FLOATS.has(outType)) out.floats = foldFloats(op, inp.map(numbers));
    else
      out.ints = foldInts(
        op,
        inp.map((f) => f?.ints),
      );
    return [out];
  }
  switch (op) {
    case 'Shape': {
      if (!dims) return [{ dims: [unknown()], type: Elem.INT64 }];
      const start = normAxis(attr(node, 'start', 0), dims.length);
      const end = attr<number | undefined>(node, 'end', undefined);
      const v = dims.slice(start, end === undefined ? undefined : normAxis(end, dims.length));
      return [{ dims: [v.length], type: Elem.INT64, ints: v }];
    }
    case 'Size':
      return [{ dims: [], type: Elem.INT64, ints: dims ? [product(dims)] : undefined }];
    case 'Constant': {
      // A tensor attribute as GraphBuilder writes it, or as the reader gives it ({ tensor }).
      const v = node.attributes.value as unknown as TensorValue | { tensor: TensorValue } | undefined;
      const t = v && typeof v === 'object' && 'tensor' in v ? v.tensor : v;
      if (t && typeof t === 'object' && 'raw' in t) return [{ dims: t.dims, type: t.dataType, ints: tensorInts(t), floats: tensorFloats(t) }];
      const vi = attr<number | undefined>(node, 'value_int', undefined);
      if (vi !== undefined) return [{ dims: [], type: Elem.INT64, ints: [vi] }];
      const vis = attr<number[] | undefined>(node, 'value_ints', undefined);
      if (vis) return [{ dims: [vis.length], type: Elem.INT64, ints: vis }];
      const vfs = attr<number[] | undefined>(node, 'value_floats', undefined);
      const vf = attr<number | undefined>(node, 'value_float', undefined);
      return [{ dims: vfs ? [vfs.length] : [], type: Elem.FLOAT, floats: vfs ?? (vf === undefined ? undefined : [vf]) }];
    }
    case 'ConstantOfShape': {
      // A tensor attribute as GraphBuilder writes it, or as the reader gives it ({ tensor }).
      const v = node.attributes.value as unknown as TensorValue | { tensor: TensorValue } | undefined;
      const t = v && typeof v === 'object' && 'tensor' in v ? v.tensor : v;
      const type = t && typeof t === 'object' && 'dataType' in t ? t.dataType : Elem.FLOAT;
      // A small integer fill (the ones torch writes for expand's −1 dims) folds like any shape value.
      const fill = t && typeof t === 'object' && 'raw' in t ? tensorInts(t)?.[0] : type === Elem.FLOAT ? undefined : 0;
      const shape = ints(0);
      const folded =
        fill !== undefined && shape?.length === 1 && typeof shape[0] === 'number' && shape[0] <= 64 ? new Array<Dim>(shape[0]).fill(fill) : undefined;
      return [{ dims: shape, type, ints: folded }];
    }
    case 'MatMul': {
      const b = inp[1]?.dims;
      if (!dims || !b) return [{ type }];
      const a2 = dims.length === 1 ? [1, dims[0]] : dims;
      const b2 = b.length === 1 ? [b[0], 1] : b;
      const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]) as Dim[];
      return [{ dims: [...batch, ...(dims.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])], type }];
    }
    case 'Gemm': {
      const b = inp[1]?.dims;
      if (!dims || !b) return [{ type }];
      return [{ dims: [attr(node, 'transA', 0) ? dims[1] : dims[0], attr(node, 'transB', 0) ? b[0] : b[1]], type }];
    }
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool': {
      if (!dims) return [{ type }, { type: Elem.INT64 }];
      const w = inp[1]?.dims;
      const win = windowOf(node, dims, op === 'Conv' ? w : undefined);
      const out = { dims: [dims[0], op === 'Conv' && w ? w[0] : dims[1], ...win.out], type };
      return [out, { dims: out.dims, type: Elem.INT64 }];
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return [{ dims: dims ? [dims[0], dims[1], ...dims.slice(2).map(() => 1)] : undefined, type }];
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL2':
    case 'ReduceL1':
    case 'ReduceSumSquare':
    case 'ReduceLogSum':
    case 'ReduceLogSumExp': {
      if (!dims || rank === undefined) return [{ type }];
      let axes = axesOf();
      if (!axes && node.inputs[1]) return [{ type }];
      if (!axes || axes.length === 0) axes = attr(node, 'noop_with_empty_axes', 0) ? [] : dims.map((_, i) => i);
      const set = new Set(axes.map((a) => normAxis(a, rank)));
      const keep = attr(node, 'keepdims', 1) === 1;
      return [{ dims: dims.flatMap((d, i) => (set.has(i) ? (keep ? [1] : []) : [d])), type }];
    }
    case 'Pad': {
      const pads = node.inputs[1] ? ints(1) : attr<number[] | undefined>(node, 'pads', undefined);
      if (!dims || rank === undefined || !pads || pads.some((p) => typeof p !== 'number')) return [{ dims: dims?.map(() => unknown()), type }];
      const axes = node.inputs[3] ? (ints(3) as number[] | undefined) : dims.map((_, i) => i);
      if (!axes) return [{ dims: dims.map(() => unknown()), type }];
      const out = [...dims];
      axes.forEach((a, i) => {
        const k = normAxis(a, rank);
        const add = (pads[i] as number) + (pads[i + axes.length] as number);
        out[k] = typeof out[k] === 'number' ? (out[k] as number) + add : add === 0 ? out[k] : unknown();
      });
      return [{ dims: out, type }];
    }
    case 'Transpose': {
      if (!dims) return [{ type }];
      const perm = attr(
        node,
        'perm',
        dims.map((_, i) => dims.length - 1 - i),
      );
      const out = perm.map((p) => dims[p]);
      const folded = x?.ints ? moveInts(dims, x.ints, out, (o) => perm.map((_, a) => o[perm.indexOf(a)])) : undefined;
      return [{ dims: out, type, ints: folded }];
    }
    case 'Reshape': {
      const shape = ints(1);
      if (!shape) return [{ type }];
      const allowZero = attr(node, 'allowzero', 0) === 1;
      const out = shape.map((s, i) => (s === 0 && !allowZero && dims ? dims[i] : s));
      const minus = out.indexOf(-1);
      if (minus >= 0) out[minus] = dims ? quotient(product(dims), product(out.filter((_, i) => i !== minus))) : unknown();
      return [{ dims: out, type, ints: x?.ints }];
    }
    case 'Flatten': {
      if (!dims || rank === undefined) return [{ type }];
      const axis = normAxis(attr(node, 'axis', 1), rank);
      return [{ dims: [product(dims.slice(0, axis)), product(dims.slice(axis))], type }];
    }
    case 'Squeeze': {
      if (!dims || rank === undefined) return [{ type }];
      const axes = axesOf();
      const set = new Set((axes ?? dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, rank)));
      return [{ dims: dims.filter((_, i) => !set.has(i)), type, ints: x?.ints }];
    }
    case 'Unsqueeze': {
      const axes = axesOf();
      if (!dims || !axes) return [{ type }];
      const outRank = dims.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, outRank)));
      const out: Dim[] = [];
      let k = 0;
      for (let i = 0; i < outRank; i++) out.push(set.has(i) ? 1 : dims[k++]);
      return [{ dims: out, type, ints: x?.ints }];
    }
    case 'Concat': {
      const all = inp.map((f) => f?.dims);
      if (all.some((d) => !d)) return [{ type }];
      const r = (all[0] as Dim[]).length;
      const axis = normAxis(attr(node, 'axis', 0), r);
      const out = [...(all[0] as Dim[])];
      const sizes = (all as Dim[][]).map((d) => d[axis]);
      out[axis] = sizes.every((s) => typeof s === 'number') ? (sizes as number[]).reduce((a, b) => a + b, 0) : unknown();
      // Row-major values concatenate flat along the first axis only.
      const folded = axis === 0 && inp.every((f) => f?.ints) ? inp.flatMap((f) => f?.ints as Dim[]) : undefined;
      return [{ dims: out, type, ints: folded }];
    }
    case 'Split': {
      if (!dims || rank === undefined) return node.outputs.map(() => ({ type }));
      const axis = normAxis(attr(node, 'axis', 0), rank);
      const sizes = splitSizes(node, dims[axis], ints(1));
      return node.outputs.map((_, i) => ({ dims: dims.map((d, k) => (k === axis ? (sizes?.[i] ?? unknown()) : d)), type }));
    }
    case 'Slice': {
      if (!dims || rank === undefined) return [{ type }];
      const s = sliceOf(node, dims, ints);
      if (!s) return [{ dims: dims.map(() => unknown()), type }];
      const out = [...dims];
      s.forEach(({ axis, size }) => (out[axis] = size));
      // Folded values of any rank move with the slice (torch's pads: reshaped to [−1, 2], reversed, transposed).
      const picks = s.every((p) => p.indices) ? new Map(s.map((p) => [p.axis, p.indices as number[]])) : undefined;
      const folded = x?.ints && picks ? moveInts(dims, x.ints, out, (o) => o.map((i, a) => picks.get(a)?.[i] ?? i)) : undefined;
      return [{ dims: out, type, ints: folded }];
    }
    case 'Gather': {
      const idx = inp[1]?.dims;
      if (!dims || rank === undefined || !idx) return [{ type }];
      const axis = normAxis(attr(node, 'axis', 0), rank);
      const at = ints(1);
      const folded =
        x?.ints && rank === 1 && at?.every((i) => typeof i === 'number')
          ? (at as number[]).map((i) => (x.ints as Dim[])[normAxis(i, x.ints?.length ?? 0)])
          : undefined;
      return [{ dims: [...dims.slice(0, axis), ...idx, ...dims.slice(axis + 1)], type, ints: folded }];
    }
    case 'Expand': {
      const shape = ints(1);
      return [{ dims: shape ? broadcast([dims, shape]) : undefined, type }];
    }
    case 'Tile': {
      const reps = ints(1);
      if (!dims || !reps || reps.length !== dims.length) return [{ dims: dims?.map(() => unknown()), type }];
      const folded = x?.ints && reps.length === 1 && typeof reps[0] === 'number' && reps[0] * x.ints.length <= 64;
      return [{ dims: dims.map((d, i) => product([d, reps[i]])), type, ints: folded ? new Array(reps[0] as number).fill(x?.ints).flat() : undefined }];
    }
    case 'Range': {
      const [start, limit, delta] = [0, 1, 2].map((i) => ints(i)?.[0]);
      // arange(N) over a symbolic size (an index per example).
      if (start === 0 && delta === 1 && typeof limit === 'string') return [{ dims: [limit], type }];
      if (typeof start !== 'number' || typeof limit !== 'number' || typeof delta !== 'number' || delta === 0) return [{ dims: [unknown()], type }];
      const n = Math.max(Math.ceil((limit - start) / delta), 0);
      return [{ dims: [n], type, ints: n <= 64 ? Array.from({ length: n }, (_, i) => start + i * delta) : undefined }];
    }
    case 'GatherND': {
      const idx = inp[1]?.dims;
      const k = idx?.at(-1);
      if (!dims || !idx || typeof k !== 'number' || attr(node, 'batch_dims', 0) !== 0) return [{ type }];
      return [{ dims: [...idx.slice(0, -1), ...dims.slice(k)], type }];
    }
    case 'Resize': {
      if (!dims) return [{ type }];
      const axes = attr<number[] | undefined>(node, 'axes', undefined)?.map((a) => normAxis(a, dims.length)) ?? dims.map((_, i) => i);
      const out = [...dims];
      const sizes = node.inputs[3] ? ints(3) : undefined;
      const scales = node.inputs[2] ? inp[2]?.floats : undefined;
      axes.forEach((a, i) => {
        if (sizes) out[a] = sizes[i];
        else if (scales?.[i] !== 1) out[a] = scales && typeof dims[a] === 'number' ? Math.floor(Math.fround(scales[i] * (dims[a] as number))) : unknown();
      });
      return [{ dims: sizes || scales ? out : dims.map(() => unknown()), type }];
    }
    case 'ConvTranspose': {
      const w = inp[1]?.dims;
      if (!dims || !w || typeof w[1] !== 'number') return [{ type }];
      const r = dims.length - 2;
      const kernel = attr(node, 'kernel_shape', w.slice(2) as number[]);
      const strides = attr(node, 'strides', new Array(r).fill(1));
      const dilations = attr(node, 'dilations', new Array(r).fill(1));
      const pads = attr(node, 'pads', new Array(2 * r).fill(0));
      const extra = attr(node, 'output_padding', new Array(r).fill(0));
      const given = attr<number[] | undefined>(node, 'output_shape', undefined);
      const spatial = dims
        .slice(2)
        .map((d, i) =>
          given ? given[i] : typeof d === 'number' ? strides[i] * (d - 1) + extra[i] + (kernel[i] - 1) * dilations[i] + 1 - pads[i] - pads[i + r] : unknown(),
        );
      return [{ dims: [dims[0], w[1] * attr(node, 'group', 1), ...spatial], type }];
    }
    case 'Col2Im': {
      const image = ints(1);
      const block = ints(2);
      if (!dims || !image || !block?.every((b) => typeof b === 'number')) return [{ type }];
      return [{ dims: [dims[0], quotient(dims[1], product(block)), ...image], type }];
    }
    case 'Einsum': {
      const terms = einsumTerms(
        attr(node, 'equation', ''),
        inp.map((f) => f?.dims?.length),
      );
      const all = inp.map((f) => f?.dims);
      if (!terms || all.some((d) => !d)) return [{ type }];
      const size = new Map<string, Dim>();
      terms.inputs.forEach((t, i) => [...t].forEach((ch, k) => size.set(ch, broadcastDim(size.get(ch) ?? 1, (all[i] as Dim[])[k]))));
      return [{ dims: [...terms.output].map((ch) => size.get(ch) ?? unknown()), type }];
    }
    case 'ArgMax':
    case 'ArgMin': {
      if (!dims || rank === undefined) return [{ type: Elem.INT64 }];
      const axis = normAxis(attr(node, 'axis', 0), rank);
      const keep = attr(node, 'keepdims', 1) === 1;
      return [{ dims: dims.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d])), type: Elem.INT64 }];
    }
    default:
      return node.outputs.map(() => undefined);
  }
}

/** Folded values of static dims `from` rearranged to `to`, each output position reading input position `source(o)`. */
function moveInts(from: Dim[], values: Dim[], to: Dim[], source: (o: number[]) => number[]): Dim[] | undefined {
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

/** The sizes of a Split's outputs along its axis, where known. */
export function splitSizes(node: NodeValue, size: Dim, splitInput?: Dim[]): Dim[] | undefined {
  const given = node.inputs[1] ? splitInput : attr<number[] | undefined>(node, 'split', undefined);
  if (given) return given;
  const n = attr(node, 'num_outputs', node.outputs.length);
  if (typeof size !== 'number') return undefined;
  const each = Math.ceil(size / n);
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, size - i * each)));
}

/**
 * A Slice's effect per sliced axis: the axis, its output size and (where the input size is static) which input
 * index each output position reads. Undefined when its starts/ends are not constants.
 */
export function sliceOf(
  node: NodeValue,
  dims: Dim[],
  ints: (i: number) => Dim[] | undefined,
): Array<{ axis: number; size: Dim; start: number; step: number; indices?: number[] }> | undefined {
  const fromAttrs = node.inputs.length < 2;
  const num = (v: Dim[] | undefined) => (v?.every((d) => typeof d === 'number') ? (v as number[]) : undefined);
  const starts = fromAttrs ? attr<number[] | undefined>(node, 'starts', undefined) : num(ints(1));
  const ends = fromAttrs ? attr<number[] | undefined>(node, 'ends', undefined) : num(ints(2));
  if (!starts || !ends) return undefined;
  const axesRaw = fromAttrs ? attr<number[] | undefined>(node, 'axes', undefined) : node.inputs[3] ? num(ints(3)) : undefined;
  if (!fromAttrs && node.inputs[3] && !axesRaw) return undefined;
  const steps = !fromAttrs && node.inputs[4] ? num(ints(4)) : starts.map(() => 1);
  if (!steps) return undefined;
  const axes = axesRaw ?? starts.map((_, i) => i);
  return axes.map((a, i) => {
    const axis = normAxis(a, dims.length);
    const d = dims[axis];
    const step = steps[i];
    if (typeof d !== 'number') {
      // A symbolic dim survives only a slice that keeps all of it.
      const whole = step === 1 && starts[i] === 0 && ends[i] >= 2 ** 31 - 1;
      return { axis, size: whole ? d : unknown(), start: starts[i], step };
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const norm = (v: number) => (v < 0 ? v + d : v);
    const start = step > 0 ? clamp(norm(starts[i]), 0, d) : clamp(norm(starts[i]), -1, d - 1);
    const end = step > 0 ? clamp(norm(ends[i]), 0, d) : clamp(norm(ends[i]), -1, d - 1);
    const indices: number[] = [];
    for (let p = start; step > 0 ? p < end : p > end; p += step) indices.push(p);
    return { axis, size: indices.length, start, step, indices };
  });
}
