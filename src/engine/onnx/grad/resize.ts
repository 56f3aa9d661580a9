// Gradient of Resize (nearest, linear and cubic; the coordinate transformations PyTorch's exporters write): each
// resized axis is a fixed linear map, an [out, in] matrix computed here exactly as ONNX Runtime samples (float32
// coordinates, clamping, nearest rounding), so dX is dY multiplied by each axis's matrix transposed.
import type { GraphBuilder } from '../graph.js';
import type { Dim } from '../proto.js';
import { type GradContext, type GradRule, dimsOf, rankOf, unsupported } from './context.js';
import { attr } from './dims.js';

const f = Math.fround;

interface Sampling {
  mode: string;
  coordinates: string;
  nearest: string;
  cubicA: number;
  excludeOutside: boolean;
}

/** The input coordinate output position `o` samples (ORT's get_original_coordinate, in float32). */
function sourceCoordinate(s: Sampling, o: number, scale: number, inSize: number, outSize: number): number {
  switch (s.coordinates) {
    case 'half_pixel':
      return f(f(f(o + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel':
      return outSize > 1 ? f(f(f(o + 0.5) / scale) - 0.5) : 0;
    case 'asymmetric':
      return f(o / scale);
    case 'align_corners':
      return outSize === 1 ? 0 : f(f(o * (inSize - 1)) / (outSize - 1));
    case 'half_pixel_symmetric': {
      const adjustment = f(outSize / f(scale * inSize));
      const offset = f(f(inSize / 2) * f(1 - adjustment));
      return f(offset + f(f(f(o + 0.5) / scale) - 0.5));
    }
    default:
      throw new Error(`coordinate_transformation_mode '${s.coordinates}'`);
  }
}

function nearestIndex(mode: string, x: number): number {
  switch (mode) {
    case 'round_prefer_floor':
      return x === Math.trunc(x) + 0.5 ? Math.floor(x) : Math.sign(x) * Math.round(Math.abs(x));
    case 'round_prefer_ceil':
      return Math.sign(x) * Math.round(Math.abs(x));
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default:
      throw new Error(`nearest_mode '${mode}'`);
  }
}

/** Keys' cubic convolution weights of the four taps around t ∈ [0, 1) (ORT's, with coefficient a). */
function cubicWeights(t: number, a: number): number[] {
  const far = (d: number) => ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  const near = (d: number) => ((a + 2) * d - (a + 3)) * d * d + 1;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/** The [outSize, inSize] matrix of one resized axis: row o holds the weights output o gives each input. */
export function resizeMatrix(s: Sampling, inSize: number, outSize: number, scale: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  for (let o = 0; o < outSize; o++) {
    const x = sourceCoordinate(s, o, scale, inSize, outSize);
    const row = o * inSize;
    if (s.mode === 'nearest') m[row + clamp(nearestIndex(s.nearest, x))] = 1;
    else if (s.mode === 'linear') {
      const c = Math.min(Math.max(x, 0), inSize - 1);
      const lo = Math.min(Math.trunc(c), inSize - 1);
      const hi = Math.min(lo + 1, inSize - 1);
      const [wLo, wHi] = lo === hi ? [0.5, 0.5] : [Math.abs(c - hi), Math.abs(c - lo)];
      m[row + lo] += wLo;
      m[row + hi] += wHi;
    } else {
      const base = Math.floor(x);
      const w = cubicWeights(x - base, s.cubicA);
      const taps = [-1, 0, 1, 2].map((k) => base + k);
      const inside = taps.map((i) => !s.excludeOutside || (i >= 0 && i < inSize));
      const total = s.excludeOutside ? w.reduce((a, v, k) => a + (inside[k] ? v : 0), 0) : 1;
      taps.forEach((i, k) => {
        if (inside[k]) m[row + clamp(i)] += w[k] / total;
      });
    }
  }
  return m;
}

/** The scale ORT uses on each axis: the given one, or out/in where sizes are given. */
function axisScales(c: GradContext, xDims: Dim[], yDims: Dim[], axes: number[]): Array<number | undefined> {
  const [, , scalesInput] = c.node.inputs;
  const given = scalesInput ? c.facts(scalesInput)?.floats : undefined;
  if (scalesInput && !given && !c.node.inputs[3]) throw unsupported(c.node, `its scales ('${scalesInput}') must be a constant`);
  return axes.map((a, i) => {
    if (given) return f(given[i]);
    const [inSize, outSize] = [xDims[a], yDims[a]];
    if (inSize === outSize) return 1;
    return typeof inSize === 'number' && typeof outSize === 'number' ? f(f(outSize) / f(inSize)) : undefined;
  });
}

/** dY mapped back along `axis` by Mᵀ, M being the axis's [out, in] matrix: the axis's size becomes in. */
function backAlongAxis(g: GraphBuilder, dy: string, m: Float32Array, inSize: number, outSize: number, axis: number, rank: number): string {
  // On the second-to-last axis Mᵀ multiplies from the left: [in, out]·[…, out, W].
  if (axis === rank - 2) {
    const mt = new Float32Array(m.length);
    for (let o = 0; o < outSize; o++) for (let k = 0; k < inSize; k++) mt[k * outSize + o] = m[o * inSize + k];
    return g.op('MatMul', [g.constant('resize_t', mt, [inSize, outSize]), dy]);
  }
  // Elsewhere the axis is (moved) last and M multiplies from the right: […, out]·[out, in].
  const right = (v: string) => g.op('MatMul', [v, g.constant('resize', m, [outSize, inSize])]);
  if (axis === rank - 1) return right(dy);
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[axis], perm[rank - 1]] = [perm[rank - 1], perm[axis]];
  return g.op('Transpose', [right(g.op('Transpose', [dy], { perm }))], { perm });
}

const resize: GradRule = (c) => {
  const { g, node } = c;
  const x = node.inputs[0];
  if (node.inputs.length < 3) throw unsupported(node, 'the opset-10 form (scales as the second input); re-export at opset 11 or later');
  if (attr(node, 'antialias', 0) !== 0) throw unsupported(node, 'antialias');
  if (attr(node, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') throw unsupported(node, 'keep_aspect_ratio_policy other than stretch');
  const s: Sampling = {
    mode: attr(node, 'mode', 'nearest'),
    coordinates: attr(node, 'coordinate_transformation_mode', 'half_pixel'),
    nearest: attr(node, 'nearest_mode', 'round_prefer_floor'),
    cubicA: attr(node, 'cubic_coeff_a', -0.75),
    excludeOutside: attr(node, 'exclude_outside', 0) === 1,
  };
  if (s.coordinates === 'tf_crop_and_resize') throw unsupported(node, 'tf_crop_and_resize');
  const rank = rankOf(c, x);
  const xDims = dimsOf(c, x) as Dim[];
  const yDims = dimsOf(c, node.outputs[0]);
  if (!yDims) throw unsupported(node, 'its output shape is unknown (scales or sizes must be constants)');
  const axes = attr<number[] | undefined>(node, 'axes', undefined)?.map((a) => (a < 0 ? a + rank : a)) ?? xDims.map((_, i) => i);
  const scales = axisScales(c, xDims, yDims, axes);
  let dx = c.dy() as string;
  axes.forEach((a, i) => {
    const [inSize, outSize, scale] = [xDims[a], yDims[a], scales[i]];
    if (scale === 1 && inSize === outSize) return;
    if (typeof inSize !== 'number' || typeof outSize !== 'number' || scale === undefined)
      throw unsupported(node, `axis ${a} is resized from ${inSize} to ${outSize}: both must be static`);
    let m: Float32Array;
    try {
      m = resizeMatrix(s, inSize, outSize, scale);
    } catch (err) {
      throw unsupported(node, (err as Error).message);
    }
    dx = backAlongAxis(g, dx, m, inSize, outSize, a, rank);
  });
  return [g.op('Identity', [dx], {}, 'dresize')];
};

export const resizeRules: Record<string, GradRule> = { Resize: resize };
