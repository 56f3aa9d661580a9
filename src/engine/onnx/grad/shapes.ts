// Static shape and type inference over a forward ONNX graph, for the gradient rules that need shapes. Dims are
// numbers, names for symbolic ones (the batch 'N'), products of names ('3*N', from Flatten), or '?…' when
// unknowable here (the rules then read the shape at run time). Small integer tensors (shapes, axes, pads) are
// folded, symbolically where they hold a symbolic dim (Shape → Gather → Concat → Reshape, as exporters write).
import type { Dim, GraphValue, NodeValue, TensorValue } from '../proto.js';

export const Elem = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

export interface ValueFacts {
  dims?: Dim[];
  type: number;
  /** The value of a small integer tensor (rank 0 or 1), when known. */
  ints?: Dim[];
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
  'Elu',
  'Selu',
  'Floor',
  'Ceil',
  'Not',
  'CumSum',
  'LayerNormalization',
  'BatchNormalization',
  'Cast',
  'IsNaN',
  'Round',
]);
/** Comparisons and logic: broadcasting, boolean results, no gradient. */
export const COMPARISONS = ['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or'];
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Max', 'Min', 'Sum', 'Mod', ...COMPARISONS]);
export const BOOLEAN = new Set([...COMPARISONS, 'Not', 'IsNaN']);

/** Facts about every value of `graph` (nodes in topological order). */
export function inferShapes(graph: GraphValue): Map<string, ValueFacts> {
  const facts = new Map<string, ValueFacts>();
  for (const i of graph.inputs) facts.set(i.name, { dims: i.dims, type: Elem.FLOAT });
  for (const t of graph.initializers) facts.set(t.name, { dims: t.dims, type: t.dataType, ints: tensorInts(t) });
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
  if (op === 'Cast') return [{ dims, type: attr(node, 'to', Elem.FLOAT), ints: x?.ints }];
  if (SAME_SHAPE.has(op)) {
    const out: ValueFacts = { dims, type: BOOLEAN.has(op) ? Elem.BOOL : type };
    if (op === 'Dropout') return [out, { dims, type: Elem.BOOL }];
    if (op === 'Identity') out.ints = x?.ints;
    return [out];
  }
  if (BROADCAST.has(op)) {
    const shapes = (op === 'Where' ? inp.slice(1) : inp).map((f) => f?.dims);
    const outType = BOOLEAN.has(op) ? Elem.BOOL : op === 'Where' ? (inp[1]?.type ?? Elem.FLOAT) : type;
    const out: ValueFacts = { dims: broadcast(op === 'Where' ? [inp[0]?.dims, ...shapes] : shapes), type: outType };
    // Shape arithmetic on folded integers.
    const a = ints(0);
    const b = ints(1);
    // Mul and Div fold symbolic dims too (attention's batch·heads, as torch's exporter writes it).
    const symbolic = op === 'Mul' || op === 'Div';
    if (a && b && ['Add', 'Sub', 'Mul', 'Div'].includes(op) && (symbolic || [...a, ...b].every((v) => typeof v === 'number'))) {
      const n = Math.max(a.length, b.length);
      const f = {
        Add: (p: Dim, q: Dim) => (p as number) + (q as number),
        Sub: (p: Dim, q: Dim) => (p as number) - (q as number),
        Mul: (p: Dim, q: Dim) => product([p, q]),
        Div: (p: Dim, q: Dim) => (typeof p === 'number' && typeof q === 'number' ? Math.trunc(p / q) : quotient(p, q)),
      }[op as 'Add'];
      if (a.length === n || a.length === 1)
        if (b.length === n || b.length === 1) out.ints = Array.from({ length: n }, (_, i) => f(a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i]));
    }
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
      if (t && typeof t === 'object' && 'raw' in t) return [{ dims: t.dims, type: t.dataType, ints: tensorInts(t) }];
      const vi = attr<number | undefined>(node, 'value_int', undefined);
      if (vi !== undefined) return [{ dims: [], type: Elem.INT64, ints: [vi] }];
      const vis = attr<number[] | undefined>(node, 'value_ints', undefined);
      if (vis) return [{ dims: [vis.length], type: Elem.INT64, ints: vis }];
      const vfs = attr<number[] | undefined>(node, 'value_floats', undefined);
      return [{ dims: vfs ? [vfs.length] : [], type: Elem.FLOAT }];
    }
    case 'ConstantOfShape': {
      // A tensor attribute as GraphBuilder writes it, or as the reader gives it ({ tensor }).
      const v = node.attributes.value as unknown as TensorValue | { tensor: TensorValue } | undefined;
      const t = v && typeof v === 'object' && 'tensor' in v ? v.tensor : v;
      return [{ dims: ints(0), type: t && typeof t === 'object' && 'dataType' in t ? t.dataType : Elem.FLOAT }];
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
      return [{ dims: perm.map((p) => dims[p]), type }];
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
      const folded = inp.every((f) => f?.ints) ? inp.flatMap((f) => f?.ints as Dim[]) : undefined;
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
      const folded = x?.ints && rank === 1 && s.length === 1 && s[0].indices ? s[0].indices.map((i) => (x.ints as Dim[])[i]) : undefined;
      return [{ dims: out, type, ints: folded }];
    }
    case 'Gather': {
      const idx = inp[1]?.dims;
      if (!dims || rank === undefined || !idx) return [{ type }];
      const axis = normAxis(attr(node, 'axis', 0), rank);
      const at = ints(1);
      const folded =
        x?.ints && axis === 0 && at?.every((i) => typeof i === 'number')
          ? (at as number[]).map((i) => (x.ints as Dim[])[normAxis(i, x.ints?.length ?? 0)])
          : undefined;
      return [{ dims: [...dims.slice(0, axis), ...idx, ...dims.slice(axis + 1)], type, ints: folded }];
    }
    case 'Expand': {
      const shape = ints(1);
      return [{ dims: shape ? broadcast([dims, shape]) : undefined, type }];
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
