// Shape rules of the ops that compute over axes: products, windows (convolutions, pooling), reductions, resizes.
import type { Dim } from '../proto.js';
import { einsumTerms } from './einsum-equation.js';
import { Elem, attr, broadcast, broadcastDim, normAxis, product, quotient, unknown } from './dims.js';
import type { ShapeRule } from './shape-rule.js';
import { windowOf } from './window-shapes.js';

/** Conv and pooling: the window's output sizes; the second output (MaxPool's indices) shaped alike. */
const windowed: ShapeRule = ({ node, inp, dims, type, op }) => {
  if (!dims) return [{ type }, { type: Elem.INT64 }];
  const w = inp[1]?.dims;
  const win = windowOf(node, dims, op === 'Conv' ? w : undefined);
  const out = { dims: [dims[0], op === 'Conv' && w ? w[0] : dims[1], ...win.out], type };
  return [out, { dims: out.dims, type: Elem.INT64 }];
};

const globalPool: ShapeRule = ({ dims, type }) => [{ dims: dims ? [dims[0], dims[1], ...dims.slice(2).map(() => 1)] : undefined, type }];

const reduction: ShapeRule = ({ node, dims, type, rank, axesOf }) => {
  if (!dims || rank === undefined) return [{ type }];
  let axes = axesOf();
  if (!axes && node.inputs[1]) return [{ type }];
  if (!axes || axes.length === 0) axes = attr(node, 'noop_with_empty_axes', 0) ? [] : dims.map((_, i) => i);
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  const keep = attr(node, 'keepdims', 1) === 1;
  return [{ dims: dims.flatMap((d, i) => (set.has(i) ? (keep ? [1] : []) : [d])), type }];
};

const argExtreme: ShapeRule = ({ node, dims, rank }) => {
  if (!dims || rank === undefined) return [{ type: Elem.INT64 }];
  const axis = normAxis(attr(node, 'axis', 0), rank);
  const keep = attr(node, 'keepdims', 1) === 1;
  return [{ dims: dims.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d])), type: Elem.INT64 }];
};

export const linearShapes: Record<string, ShapeRule> = {
  MatMul: ({ inp, dims, type }) => {
    const b = inp[1]?.dims;
    if (!dims || !b) return [{ type }];
    const a2 = dims.length === 1 ? [1, dims[0]] : dims;
    const b2 = b.length === 1 ? [b[0], 1] : b;
    const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]) as Dim[];
    return [{ dims: [...batch, ...(dims.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])], type }];
  },
  Gemm: ({ node, inp, dims, type }) => {
    const b = inp[1]?.dims;
    if (!dims || !b) return [{ type }];
    return [{ dims: [attr(node, 'transA', 0) ? dims[1] : dims[0], attr(node, 'transB', 0) ? b[0] : b[1]], type }];
  },
  Conv: windowed,
  MaxPool: windowed,
  AveragePool: windowed,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  ReduceMean: reduction,
  ReduceSum: reduction,
  ReduceMax: reduction,
  ReduceMin: reduction,
  ReduceProd: reduction,
  ReduceL2: reduction,
  ReduceL1: reduction,
  ReduceSumSquare: reduction,
  ReduceLogSum: reduction,
  ReduceLogSumExp: reduction,
  Resize: ({ node, inp, dims, type, ints }) => {
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
  },
  ConvTranspose: ({ node, inp, dims, type }) => {
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
  },
  Col2Im: ({ dims, type, ints }) => {
    const image = ints(1);
    const block = ints(2);
    if (!dims || !image || !block?.every((b) => typeof b === 'number')) return [{ type }];
    return [{ dims: [dims[0], quotient(dims[1], product(block)), ...image], type }];
  },
  Einsum: ({ node, inp, type }) => {
    const terms = einsumTerms(
      attr(node, 'equation', ''),
      inp.map((f) => f?.dims?.length),
    );
    const all = inp.map((f) => f?.dims);
    if (!terms || all.some((d) => !d)) return [{ type }];
    const size = new Map<string, Dim>();
    terms.inputs.forEach((t, i) => [...t].forEach((ch, k) => size.set(ch, broadcastDim(size.get(ch) ?? 1, (all[i] as Dim[])[k]))));
    return [{ dims: [...terms.output].map((ch) => size.get(ch) ?? unknown()), type }];
  },
  ArgMax: argExtreme,
  ArgMin: argExtreme,
};
