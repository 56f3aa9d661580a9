// Shape rules of the ops that make values of shapes and constants: Shape, Size, Constant, ConstantOfShape, Range.
import type { Dim, TensorValue } from '../proto.js';
import { Elem, attr, normAxis, product, tensorFloats, tensorInts, unknown } from './dims.js';
import type { ShapeRule } from './shape-rule.js';

export const valueShapes: Record<string, ShapeRule> = {
  Shape: ({ node, dims }) => {
    if (!dims) return [{ dims: [unknown()], type: Elem.INT64 }];
    const start = normAxis(attr(node, 'start', 0), dims.length);
    const end = attr<number | undefined>(node, 'end', undefined);
    const v = dims.slice(start, end === undefined ? undefined : normAxis(end, dims.length));
    return [{ dims: [v.length], type: Elem.INT64, ints: v }];
  },
  Size: ({ dims }) => [{ dims: [], type: Elem.INT64, ints: dims ? [product(dims)] : undefined }],
  Constant: ({ node }) => {
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
  },
  ConstantOfShape: ({ node, ints }) => {
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
  },
  Range: ({ type, ints }) => {
    const [start, limit, delta] = [0, 1, 2].map((i) => ints(i)?.[0]);
    // arange(N) over a symbolic size (an index per example).
    if (start === 0 && delta === 1 && typeof limit === 'string') return [{ dims: [limit], type }];
    if (typeof start !== 'number' || typeof limit !== 'number' || typeof delta !== 'number' || delta === 0) return [{ dims: [unknown()], type }];
    const n = Math.max(Math.ceil((limit - start) / delta), 0);
    return [{ dims: [n], type, ints: n <= 64 ? Array.from({ length: n }, (_, i) => start + i * delta) : undefined }];
  },
};
