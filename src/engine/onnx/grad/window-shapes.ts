// The geometry static shape inference and the gradient rules share: window ops' output sizes and pads, Split's
// sizes, Slice's picks.
import type { Dim, NodeValue } from '../proto.js';
import { attr, normAxis, unknown } from './dims.js';

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
