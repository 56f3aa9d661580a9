// Shape rules of the ops that move elements: padding, transposes, reshapes, concatenation, splits, slices,
// gathers, expansion and tiling; folded values move with them.
import type { Dim } from '../proto.js';
import { attr, broadcast, normAxis, product, quotient, unknown } from './dims.js';
import { moveInts } from './fold.js';
import type { ShapeRule } from './shape-rule.js';
import { sliceOf, splitSizes } from './window-shapes.js';

export const movementShapes: Record<string, ShapeRule> = {
  Pad: ({ node, dims, type, rank, ints }) => {
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
  },
  Transpose: ({ node, x, dims, type }) => {
    if (!dims) return [{ type }];
    const perm = attr(
      node,
      'perm',
      dims.map((_, i) => dims.length - 1 - i),
    );
    const out = perm.map((p) => dims[p]);
    const folded = x?.ints ? moveInts(dims, x.ints, out, (o) => perm.map((_, a) => o[perm.indexOf(a)])) : undefined;
    return [{ dims: out, type, ints: folded }];
  },
  Reshape: ({ node, x, dims, type, ints }) => {
    const shape = ints(1);
    if (!shape) return [{ type }];
    const allowZero = attr(node, 'allowzero', 0) === 1;
    const out = shape.map((s, i) => (s === 0 && !allowZero && dims ? dims[i] : s));
    const minus = out.indexOf(-1);
    if (minus >= 0) out[minus] = dims ? quotient(product(dims), product(out.filter((_, i) => i !== minus))) : unknown();
    return [{ dims: out, type, ints: x?.ints }];
  },
  Flatten: ({ node, dims, type, rank }) => {
    if (!dims || rank === undefined) return [{ type }];
    const axis = normAxis(attr(node, 'axis', 1), rank);
    return [{ dims: [product(dims.slice(0, axis)), product(dims.slice(axis))], type }];
  },
  Squeeze: ({ x, dims, type, rank, axesOf }) => {
    if (!dims || rank === undefined) return [{ type }];
    const axes = axesOf();
    const set = new Set((axes ?? dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, rank)));
    return [{ dims: dims.filter((_, i) => !set.has(i)), type, ints: x?.ints }];
  },
  Unsqueeze: ({ x, dims, type, axesOf }) => {
    const axes = axesOf();
    if (!dims || !axes) return [{ type }];
    const outRank = dims.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, outRank)));
    const out: Dim[] = [];
    let k = 0;
    for (let i = 0; i < outRank; i++) out.push(set.has(i) ? 1 : dims[k++]);
    return [{ dims: out, type, ints: x?.ints }];
  },
  Concat: ({ node, inp, type }) => {
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
  },
  Split: ({ node, dims, type, rank, ints }) => {
    if (!dims || rank === undefined) return node.outputs.map(() => ({ type }));
    const axis = normAxis(attr(node, 'axis', 0), rank);
    const sizes = splitSizes(node, dims[axis], ints(1));
    return node.outputs.map((_, i) => ({ dims: dims.map((d, k) => (k === axis ? (sizes?.[i] ?? unknown()) : d)), type }));
  },
  Slice: ({ node, x, dims, type, rank, ints }) => {
    if (!dims || rank === undefined) return [{ type }];
    const s = sliceOf(node, dims, ints);
    if (!s) return [{ dims: dims.map(() => unknown()), type }];
    const out = [...dims];
    s.forEach(({ axis, size }) => (out[axis] = size));
    // Folded values of any rank move with the slice (torch's pads: reshaped to [−1, 2], reversed, transposed).
    const picks = s.every((p) => p.indices) ? new Map(s.map((p) => [p.axis, p.indices as number[]])) : undefined;
    const folded = x?.ints && picks ? moveInts(dims, x.ints, out, (o) => o.map((i, a) => picks.get(a)?.[i] ?? i)) : undefined;
    return [{ dims: out, type, ints: folded }];
  },
  Gather: ({ node, inp, x, dims, type, rank, ints }) => {
    const idx = inp[1]?.dims;
    if (!dims || rank === undefined || !idx) return [{ type }];
    const axis = normAxis(attr(node, 'axis', 0), rank);
    const at = ints(1);
    const folded =
      x?.ints && rank === 1 && at?.every((i) => typeof i === 'number')
        ? (at as number[]).map((i) => (x.ints as Dim[])[normAxis(i, x.ints?.length ?? 0)])
        : undefined;
    return [{ dims: [...dims.slice(0, axis), ...idx, ...dims.slice(axis + 1)], type, ints: folded }];
  },
  Expand: ({ dims, type, ints }) => {
    const shape = ints(1);
    return [{ dims: shape ? broadcast([dims, shape]) : undefined, type }];
  },
  Tile: ({ x, dims, type, ints }) => {
    const reps = ints(1);
    if (!dims || !reps || reps.length !== dims.length) return [{ dims: dims?.map(() => unknown()), type }];
    const folded = x?.ints && reps.length === 1 && typeof reps[0] === 'number' && reps[0] * x.ints.length <= 64;
    return [{ dims: dims.map((d, i) => product([d, reps[i]])), type, ints: folded ? new Array(reps[0] as number).fill(x?.ints).flat() : undefined }];
  },
  GatherND: ({ node, inp, dims, type }) => {
    const idx = inp[1]?.dims;
    const k = idx?.at(-1);
    if (!dims || !idx || typeof k !== 'number' || attr(node, 'batch_dims', 0) !== 0) return [{ type }];
    return [{ dims: [...idx.slice(0, -1), ...dims.slice(k)], type }];
  },
};
