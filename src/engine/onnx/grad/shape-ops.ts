// Gradients of ops that move values without computing on them: the gradient moves back the same way (Pad ↔
// negative Pad, Transpose ↔ inverse perm, Concat ↔ Slice, Split ↔ Concat, Slice ↔ Pad or Gather, Gather and
// GatherND ↔ ScatterND with accumulation for repeated indices, Tile ↔ a sum over the copies); reshapes read the
// input's shape at run time.
import type { Dim } from '../proto.js';
import { type GradRule, dimTensor, dimsOf, rankOf, scalar, shapeOf, unsupported, zerosLike } from './context.js';
import { Elem, attr } from './dims.js';
import { sliceOf } from './window-shapes.js';

/**
 * dY reshaped to the input's shape: a constant where it is static (ONNX Runtime 1.30's basic optimizer folds a Shape of
 * a static value and then fails on the Reshape that read it: "a name which does not exist").
 */
const reshapeBack: GradRule = (c) => {
  const x = c.node.inputs[0];
  const dims = dimsOf(c, x);
  const shape = dims?.every((d) => typeof d === 'number') ? c.g.ints('shape', dims as number[]) : shapeOf(c.g, x);
  return [c.g.op('Reshape', [c.dy() as string, shape], {}, 'dreshape')];
};

const pad: GradRule = (c) => {
  const { g, node } = c;
  if (attr(node, 'mode', 'constant') !== 'constant') throw unsupported(node, `mode '${attr(node, 'mode', '')}' (constant padding only)`);
  const given = node.inputs[1] ? undefined : attr<number[] | undefined>(node, 'pads', undefined);
  const negated = given
    ? g.ints(
        'pads',
        given.map((p) => -p),
      )
    : g.op('Neg', [node.inputs[1]]);
  // A negative pad crops: padding dY by −pads gives back the input's extent.
  return [g.op('Pad', [c.dy() as string, negated, ...(node.inputs[3] ? ['', node.inputs[3]] : [])], { mode: 'constant' }, 'dpad')];
};

const transpose: GradRule = (c) => {
  const rank = rankOf(c, c.node.inputs[0]);
  const perm = attr(
    c.node,
    'perm',
    Array.from({ length: rank }, (_, i) => rank - 1 - i),
  );
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [c.g.op('Transpose', [c.dy() as string], { perm: inverse }, 'dtranspose')];
};

/** int64 [1] offsets of each part along `axis`: constants where the sizes are static, sums of Shape reads otherwise. */
function offsets(c: Parameters<GradRule>[0], parts: string[], axis: number): string[] {
  const sizes = parts.map((p) => dimsOf(c, p)?.[axis]);
  if (sizes.every((s) => typeof s === 'number')) {
    let at = 0;
    return [...(sizes as number[]), 0].map((s) => c.g.ints('offset', [(at += s) - s]));
  }
  const out = [c.g.ints('offset', [0])];
  for (const p of parts) out.push(c.g.op('Add', [out[out.length - 1], dimTensor(c, p, axis)]));
  return out;
}

const concat: GradRule = (c) => {
  const { g, node } = c;
  const axis = attr(node, 'axis', 0);
  const rank = rankOf(c, node.inputs[0]);
  const a = axis < 0 ? axis + rank : axis;
  const at = offsets(c, node.inputs, a);
  return node.inputs.map((_, i) => (c.wants(i) ? g.op('Slice', [c.dy() as string, at[i], at[i + 1], g.ints('axis', [a])], {}, 'dconcat') : undefined));
};

const split: GradRule = (c) => {
  const { g, node } = c;
  const rank = rankOf(c, node.inputs[0]);
  const axis = attr(node, 'axis', 0);
  const parts = node.outputs.map((o, i) => c.dy(i) ?? zerosLike(g, o));
  return [g.op('Concat', parts, { axis: axis < 0 ? axis + rank : axis }, 'dsplit')];
};

const slice: GradRule = (c) => {
  const { g, node } = c;
  const x = node.inputs[0];
  const dims = dimsOf(c, x) as Dim[];
  const s = sliceOf(node, dims, (i) => (node.inputs[i] ? c.facts(node.inputs[i])?.ints : undefined));
  if (!s) throw unsupported(node, 'starts/ends/axes/steps must be constants');
  let dx = c.dy() as string;
  if (s.every((p) => p.step === 1)) {
    const pads = new Array(2 * dims.length).fill(0);
    for (const p of s) {
      if (!p.indices) {
        if (p.size === dims[p.axis]) continue;
        throw unsupported(node, `the size of axis ${p.axis} must be static to slice it`);
      }
      pads[p.axis] = p.start;
      pads[p.axis + dims.length] = (dims[p.axis] as number) - p.start - p.indices.length;
    }
    return [pads.some((v) => v !== 0) ? g.op('Pad', [dx, g.ints('pads', pads)], { mode: 'constant' }, 'dslice') : g.op('Identity', [dx])];
  }
  // Strided (or reversed) slices: per axis, append one zero slice to dY and gather each input position's source.
  for (const p of s) {
    if (!p.indices) throw unsupported(node, `the size of axis ${p.axis} must be static for a strided slice`);
    const size = dims[p.axis] as number;
    const pads = new Array(2 * dims.length).fill(0);
    pads[p.axis + dims.length] = 1;
    const withZero = g.op('Pad', [dx, g.ints('pads', pads)], { mode: 'constant' });
    const source = new Array<number>(size).fill(p.indices.length);
    p.indices.forEach((from, j) => (source[from] = j));
    dx = g.op('Gather', [withZero, g.ints('source', source)], { axis: p.axis }, 'dslice');
  }
  return [dx];
};

const gather: GradRule = (c) => {
  const { g, node } = c;
  const [data, indices] = node.inputs;
  const rank = rankOf(c, data);
  const q = rankOf(c, indices);
  const axis = (attr(node, 'axis', 0) + rank) % rank;
  const known = c.facts(indices)?.ints;
  const size = dimsOf(c, data)?.[axis];
  if (q === 0 && known?.length === 1 && typeof known[0] === 'number' && typeof size === 'number') {
    // One constant index (a CLS token, one of q/k/v): dY padded with zeros around it, no scatter into zeros.
    const at = (known[0] + size) % size;
    const pads = new Array<number>(2 * rank).fill(0);
    [pads[axis], pads[rank + axis]] = [at, size - 1 - at];
    return [g.op('Pad', [g.op('Unsqueeze', [c.dy() as string, g.ints('axes', [axis])]), g.ints('pads', pads)], {}, 'dgather')];
  }
  let idx = c.facts(indices)?.type === Elem.INT64 ? indices : g.op('Cast', [indices], { to: Elem.INT64 });
  if (!known || known.some((i) => typeof i !== 'number' || i < 0)) {
    idx = g.op('Where', [g.op('Less', [idx, g.ints('zero', [0])]), g.op('Add', [idx, dimTensor(c, data, axis)]), idx]);
  }
  const where = g.op('Unsqueeze', [idx, g.ints('axes', [-1])]);
  const dy = c.dy() as string;
  if (axis === 0) return [g.op('ScatterND', [zerosLike(g, data), where, dy], { reduction: 'add' }, 'dgather')];
  // Scatter along the first axis: the gathered axis moved to the front of the data and of dY.
  const perm = [axis, ...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis)];
  const dyPerm = [
    ...Array.from({ length: q }, (_, i) => axis + i),
    ...Array.from({ length: axis }, (_, i) => i),
    ...Array.from({ length: rank - axis - 1 }, (_, i) => axis + q + i),
  ];
  const zeros = g.op('Expand', [scalar(g, 0, 'zero'), g.op('Gather', [shapeOf(g, data), g.ints('perm', perm)], { axis: 0 })]);
  const scattered = g.op('ScatterND', [zeros, where, g.op('Transpose', [dy], { perm: dyPerm })], { reduction: 'add' });
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [g.op('Transpose', [scattered], { perm: inverse }, 'dgather')];
};

/** GatherND (batch_dims 0): dY scattered back with accumulation; ScatterND takes negative indices as they are. */
const gatherND: GradRule = (c) => {
  const { g, node } = c;
  const [data, indices] = node.inputs;
  if (attr(node, 'batch_dims', 0) !== 0) throw unsupported(node, 'batch_dims other than 0');
  return [g.op('ScatterND', [zerosLike(g, data), indices, c.dy() as string], { reduction: 'add' }, 'dgather_nd')];
};

/** Tile: dY seen as [r₀, d₀, r₁, d₁, …] (repeats outermost on each axis) summed over the repeats. */
const tile: GradRule = (c) => {
  const { g, node } = c;
  const [x, repeats] = node.inputs;
  const rank = rankOf(c, x);
  const column = (v: string) => g.op('Unsqueeze', [v, g.ints('axes', [1])]);
  const pairs = g.op('Concat', [column(repeats), column(shapeOf(g, x))], { axis: 1 });
  const split = g.op('Reshape', [c.dy() as string, g.op('Reshape', [pairs, g.ints('flat', [-1])])]);
  const copies = Array.from({ length: rank }, (_, i) => 2 * i);
  return [g.op('ReduceSum', [split, g.ints('axes', copies)], { keepdims: 0 }, 'dtile')];
};

export const shapeRules: Record<string, GradRule> = {
  Pad: pad,
  Transpose: transpose,
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  GatherND: gatherND,
  Tile: tile,
};
