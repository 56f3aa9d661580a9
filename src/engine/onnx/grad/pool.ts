// Gradients of pooling (channels first, any spatial rank): global average, average (count_include_pad,
// ceil_mode, pads, auto_pad) and max pooling. A window's gradient is spread back with ConvTranspose, the
// transposed window sum; max pooling routes each gradient to the index ORT's MaxPool reports.
import type { GraphBuilder } from '../graph.js';
import { type GradRule, countOf, rankOf, scalar, shapeOf, staticDims } from './context.js';
import { attr } from './dims.js';
import { windowOf } from './window-shapes.js';

type Window = ReturnType<typeof windowOf>;

/**
 * The transposed window op of `dy` with `weight` ([C_in, C_out/group, *K]) back onto an input of spatial size
 * `spatial`: ConvTranspose with output_padding for the rows no window reached; where windows overhang the
 * input (ceil_mode), the full transposed result cropped instead.
 */
export function transposedWindow(g: GraphBuilder, dy: string, weight: string, group: number, win: Window, spatial: number[], hint: string): string {
  const r = spatial.length;
  const span = (i: number) => (win.kernel[i] - 1) * win.dilations[i] + 1;
  const outs = win.out as number[];
  const full = spatial.map((_, i) => win.strides[i] * (outs[i] - 1) + span(i));
  const outputPadding = spatial.map((s, i) => s - (full[i] - win.pads[i] - win.pads[i + r]));
  const common = { group, strides: win.strides, dilations: win.dilations, kernel_shape: win.kernel };
  if (outputPadding.every((p, i) => p >= 0 && p < Math.max(win.strides[i], win.dilations[i])))
    return g.op('ConvTranspose', [dy, weight], { ...common, pads: win.pads, output_padding: outputPadding }, hint);
  const axes = spatial.map((_, i) => i + 2);
  const whole = g.op('ConvTranspose', [dy, weight], common, hint);
  const cropped = g.op('Slice', [
    whole,
    g.ints('starts', win.pads.slice(0, r)),
    g.ints(
      'ends',
      spatial.map((s, i) => Math.min(full[i], win.pads[i] + s)),
    ),
    g.ints('axes', axes),
  ]);
  const missing = spatial.map((s, i) => Math.max(0, win.pads[i] + s - full[i]));
  if (missing.every((m) => m === 0)) return cropped;
  return g.op('Pad', [cropped, g.ints('pads', [0, 0, ...spatial.map(() => 0), 0, 0, ...missing])], { mode: 'constant' }, hint);
}

const globalAveragePool: GradRule = (c) => {
  const { g, node } = c;
  const x = node.inputs[0];
  const spatial = Array.from({ length: rankOf(c, x) - 2 }, (_, i) => i + 2);
  return [g.op('Expand', [g.op('Div', [c.dy() as string, countOf(c, x, spatial)]), shapeOf(g, x)], {}, 'dglobal_avg')];
};

/** For each output position, 1 / the number of taps its average divides by (ORT's rule). */
function inverseCounts(win: Window, spatial: number[], includePad: boolean): Float32Array {
  const r = spatial.length;
  const outs = win.out as number[];
  const perAxis = spatial.map((s, i) =>
    Array.from({ length: outs[i] }, (_, o) => {
      const start = o * win.strides[i] - win.pads[i];
      const lo = includePad ? -win.pads[i] : 0;
      const hi = includePad ? s + win.pads[i + r] : s;
      let n = 0;
      for (let k = 0; k < win.kernel[i]; k++) {
        const p = start + k * win.dilations[i];
        if (p >= lo && p < hi) n++;
      }
      return n;
    }),
  );
  const total = outs.reduce((a, b) => a * b, 1);
  const inv = new Float32Array(total);
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    let n = 1;
    for (let i = r - 1; i >= 0; i--) {
      n *= perAxis[i][rem % outs[i]];
      rem = Math.floor(rem / outs[i]);
    }
    inv[flat] = 1 / n;
  }
  return inv;
}

const averagePool: GradRule = (c) => {
  const { g, node } = c;
  const x = node.inputs[0];
  const [, channels, ...spatial] = staticDims(c, x, 'the channels and spatial size', 1);
  const win = windowOf(node, ['N', channels, ...spatial]);
  const inv = inverseCounts(win, spatial, attr(node, 'count_include_pad', 0) === 1);
  const weighted = g.op('Mul', [c.dy() as string, g.constant('inv_count', inv, [1, 1, ...(win.out as number[])])]);
  const ones = g.constant('ones', new Float32Array(channels * win.kernel.reduce((a, b) => a * b, 1)).fill(1), [channels, 1, ...win.kernel]);
  return [transposedWindow(g, weighted, ones, channels, win, spatial, 'davgpool')];
};

const maxPool: GradRule = (c) => {
  const { g, node } = c;
  const x = node.inputs[0];
  // ORT's MaxPool reports the flat index (over the whole tensor) of each window's first maximum.
  const keep = ['kernel_shape', 'strides', 'pads', 'auto_pad', 'ceil_mode', 'dilations'];
  const attributes = Object.fromEntries(Object.entries(node.attributes).filter(([k]) => keep.includes(k)));
  const [, indices] = g.ops('MaxPool', [x], 2, attributes, 'maxpool_indices');
  const flat = g.ints('flat', [-1]);
  const zeros = g.op('Reshape', [g.op('Expand', [scalar(g, 0, 'zero'), shapeOf(g, x)]), flat]);
  const routed = g.op(
    'ScatterElements',
    [zeros, g.op('Reshape', [indices, flat]), g.op('Reshape', [c.dy() as string, flat])],
    { axis: 0, reduction: 'add' },
    'dmaxpool',
  );
  return [g.op('Reshape', [routed, shapeOf(g, x)], {}, 'dmaxpool')];
};

export const poolRules: Record<string, GradRule> = { GlobalAveragePool: globalAveragePool, AveragePool: averagePool, MaxPool: maxPool };
