// Each Keras layer as ONNX nodes for inference. Activations stay NCHW inside the graph (ORT's fast
// convolution layout); every 4-D value is NCHW, and Keras's NHWC order is restored where it shows: at
// Flatten and Reshape (whose element order is Keras's), and at the graph's output.
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../../errors.js';
import { type Window, im2col, windowOf } from './autodiff.js';
import type { GraphBuilder } from './graph.js';

/** A value in the graph: its name and rank (rank-4 values are NCHW). */
export interface Value {
  name: string;
  rank: number;
}

type Config = Record<string, unknown>;

/** NCHW → NHWC for a rank-4 value, as Keras lays memory out. */
export function toNhwc(g: GraphBuilder, v: Value): Value {
  return v.rank === 4 ? { name: g.op('Transpose', [v.name], { perm: [0, 2, 3, 1] }, 'to_nhwc'), rank: 4 } : v;
}

export function toNchw(g: GraphBuilder, v: Value): Value {
  return v.rank === 4 ? { name: g.op('Transpose', [v.name], { perm: [0, 3, 1, 2] }, 'to_nchw'), rank: 4 } : v;
}

/** A layer's weights by their Keras names (kernel, bias, gamma, moving_mean, …). */
function weightsOf(layer: tfl.layers.Layer): Record<string, { values: Float32Array; shape: number[] }> {
  const out: Record<string, { values: Float32Array; shape: number[] }> = {};
  const tensors = layer.getWeights();
  layer.weights.forEach((w, i) => {
    out[w.originalName.split('/').pop() as string] = { values: tensors[i].dataSync() as Float32Array, shape: w.shape as number[] };
  });
  return out;
}

/** Keras HWIO (depthwise: H, W, in, multiplier) → ONNX OIHW. */
function hwioToOihw(values: Float32Array, [kh, kw, ci, co]: number[], depthwise = false): { values: Float32Array; dims: number[] } {
  const out = new Float32Array(values.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < ci; c++)
        for (let o = 0; o < co; o++) {
          const src = ((i * kw + j) * ci + c) * co + o;
          // Depthwise: output channel c*multiplier + o of a grouped conv with one input channel per group.
          const dst = depthwise ? ((c * co + o) * kh + i) * kw + j : ((o * ci + c) * kh + i) * kw + j;
          out[dst] = values[src];
        }
  return { values: out, dims: depthwise ? [ci * co, 1, kh, kw] : [co, ci, kh, kw] };
}

const autoPad = (padding: unknown) => (padding === 'same' ? 'SAME_UPPER' : 'VALID');
const pair = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);

/** Emits a Keras activation by name. */
export function activation(g: GraphBuilder, v: Value, name: string): Value {
  const unary = (op: string, attrs = {}) => ({ name: g.op(op, [v.name], attrs), rank: v.rank });
  switch (name) {
    case 'linear':
      return v;
    case 'relu':
      return unary('Relu');
    case 'relu6':
      return { name: g.op('Clip', [v.name, g.constant('zero', [0], []), g.constant('six', [6], [])]), rank: v.rank };
    case 'sigmoid':
      return unary('Sigmoid');
    case 'tanh':
      return unary('Tanh');
    case 'elu':
      return unary('Elu');
    case 'selu':
      return unary('Selu', { alpha: { float: 1.6732632423543772 }, gamma: { float: 1.0507009873554805 } });
    case 'softplus':
      return unary('Softplus');
    case 'softsign':
      return unary('Softsign');
    case 'hard_sigmoid':
    case 'hardSigmoid':
      return unary('HardSigmoid', { alpha: { float: 0.2 }, beta: { float: 0.5 } });
    case 'softmax':
      return unary('Softmax', { axis: v.rank === 4 ? 1 : -1 });
    case 'swish':
      return { name: g.op('Mul', [v.name, g.op('Sigmoid', [v.name])]), rank: v.rank };
    case 'hard_swish':
    case 'hardSwish': {
      // Keras 3's x · relu6(x + 3) / 6 (MobileNetV3), as ONNX's HardSigmoid with alpha 1/6, beta 1/2.
      const gate = g.op('HardSigmoid', [v.name], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
      return { name: g.op('Mul', [v.name, gate]), rank: v.rank };
    }
    case 'mish':
      return { name: g.op('Mul', [v.name, g.op('Tanh', [g.op('Softplus', [v.name])])]), rank: v.rank };
    case 'gelu': {
      const erf = g.op('Erf', [g.op('Div', [v.name, g.constant('sqrt2', [Math.SQRT2], [])])]);
      const half = g.op('Mul', [v.name, g.constant('half', [0.5], [])]);
      return { name: g.op('Mul', [half, g.op('Add', [erf, g.constant('one', [1], [])])]), rank: v.rank };
    }
    default:
      throw new TransferkitError(`the ONNX compiler does not support activation '${name}'`);
  }
}

/** Per-channel constants shaped to broadcast over NCHW (or over the last axis of a rank-2 value). */
function channelConstant(g: GraphBuilder, name: string, values: Float32Array | number[], rank: number): string {
  const n = values.length;
  return g.constant(name, values, rank === 4 ? [1, n, 1, 1] : [1, n]);
}

/** Output positions per image up to which a convolution runs as one GEMM over the whole batch (see convAsGemm). */
const GEMM_MAX_POSITIONS = 16;

/**
 * A convolution with few output positions (VGG's 4×4 and 2×2 blocks at 32×32 input) as im2col + one MatMul over
 * the whole batch, in NHWC: ORT's NCHWc convolution works image by image and reaches a third of its speed
 * there (108 against 385 GFLOP/s on 2 cores), while the GEMM has batch × positions rows to work on.
 */
function convAsGemm(
  g: GraphBuilder,
  x: Value,
  layer: tfl.layers.Layer,
  c: Config,
  kernel: { values: Float32Array; shape: number[] },
  bias?: Float32Array,
): Value | null {
  const [kh, kw, ci, co] = kernel.shape;
  const [sh, sw] = pair(c.strides);
  const [dh, dw] = pair(c.dilationRate ?? 1);
  const [h, w] = (layer.inboundNodes[0]?.inputTensors[0]?.shape ?? []).slice(1);
  if (sh !== sw || dh !== 1 || dw !== 1 || typeof h !== 'number' || typeof w !== 'number') return null;
  const win = windowOf(h, w, kh, kw, sh, c.padding as 'same' | 'valid');
  if (win.oh * win.ow > GEMM_MAX_POSITIONS) return null;
  const nhwc = toNhwc(g, x).name;
  let y: string;
  if (h * w < kh * kw && h * w * ci * win.oh * win.ow * co <= DENSE_MAX_WEIGHTS) {
    // Fewer input pixels than taps (VGG's 2×2 block at 32×32): im2col would multiply mostly padding zeros.
    const flat = g.op('Reshape', [nhwc, g.ints('shape', [-1, h * w * ci])]);
    y = g.op('MatMul', [flat, g.constant(`${layer.name}_M`, convMatrix(kernel, win), [h * w * ci, win.oh * win.ow * co])], {}, layer.name);
    if (bias) y = g.op('Add', [y, g.constant(`${layer.name}_B`, tile(bias, win.oh * win.ow), [win.oh * win.ow * co])], {}, `${layer.name}_bias`);
  } else {
    const cols = im2col(g, nhwc, win, ci);
    y = g.op('MatMul', [cols, g.constant(`${layer.name}_W2d`, kernel.values, [kh * kw * ci, co])], {}, layer.name);
    if (bias) y = g.op('Add', [y, g.constant(`${layer.name}_B`, bias, [co])], {}, `${layer.name}_bias`);
  }
  return toNchw(g, { name: g.op('Reshape', [y, g.ints('shape', [-1, win.oh, win.ow, co])], {}, `${layer.name}_nhwc`), rank: 4 });
}

/** Weights up to which a convolution over a tiny input is one dense matrix (VGG16's 2×2 block: 4M each). */
const DENSE_MAX_WEIGHTS = 16 * 2 ** 20;

/** A convolution as one linear map of the whole image, HWC → OH·OW·CO: [H·W·CI, OH·OW·CO], taps in padding left out. */
function convMatrix(kernel: { values: Float32Array; shape: number[] }, win: Window): Float32Array {
  const [kh, kw, ci, co] = kernel.shape;
  const cols = win.oh * win.ow * co;
  const m = new Float32Array(win.h * win.w * ci * cols);
  for (let oh = 0; oh < win.oh; oh++)
    for (let ow = 0; ow < win.ow; ow++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          const p = oh * win.stride + i - win.pads[0];
          const q = ow * win.stride + j - win.pads[2];
          if (p < 0 || p >= win.h || q < 0 || q >= win.w) continue;
          for (let c = 0; c < ci; c++) {
            const src = ((i * kw + j) * ci + c) * co;
            m.set(kernel.values.subarray(src, src + co), ((p * win.w + q) * ci + c) * cols + (oh * win.ow + ow) * co);
          }
        }
  return m;
}

const tile = (v: Float32Array, times: number): Float32Array => {
  const out = new Float32Array(v.length * times);
  for (let k = 0; k < times; k++) out.set(v, k * v.length);
  return out;
};

function conv(
  g: GraphBuilder,
  x: Value,
  layer: tfl.layers.Layer,
  c: Config,
  kernel: { values: Float32Array; shape: number[] },
  depthwise: boolean,
  bias?: Float32Array,
): Value {
  const w = hwioToOihw(kernel.values, kernel.shape, depthwise);
  const inputs = [x.name, g.constant(`${layer.name}_W`, w.values, w.dims)];
  if (bias) inputs.push(g.constant(`${layer.name}_B`, bias, [bias.length]));
  return {
    name: g.op(
      'Conv',
      inputs,
      {
        kernel_shape: w.dims.slice(2),
        strides: pair(c.strides),
        dilations: pair(c.dilationRate ?? 1),
        auto_pad: autoPad(c.padding),
        group: depthwise ? kernel.shape[2] : 1,
      },
      layer.name,
    ),
    rank: 4,
  };
}

/** Emits one non-container layer; returns its outputs. */
export function emitLayer(g: GraphBuilder, layer: tfl.layers.Layer, inputs: Value[]): Value[] {
  const c = layer.getConfig() as Config;
  const cls = layer.getClassName();
  const [x] = inputs;
  const w = () => weightsOf(layer);
  switch (cls) {
    case 'Conv2D': {
      const ws = w();
      const bias = c.useBias ? ws.bias.values : undefined;
      const y = convAsGemm(g, x, layer, c, ws.kernel, bias) ?? conv(g, x, layer, c, ws.kernel, false, bias);
      return [activation(g, y, c.activation as string)];
    }
    case 'DepthwiseConv2D': {
      const ws = w();
      const y = conv(g, x, layer, c, ws.depthwise_kernel, true, c.useBias ? ws.bias.values : undefined);
      return [activation(g, y, c.activation as string)];
    }
    case 'SeparableConv2D': {
      const ws = w();
      const dw = conv(g, x, layer, c, ws.depthwise_kernel, true);
      const pw = conv(g, dw, layer, { strides: 1, padding: 'valid' }, ws.pointwise_kernel, false, c.useBias ? ws.bias.values : undefined);
      return [activation(g, pw, c.activation as string)];
    }
    case 'Dense': {
      const ws = w();
      if (x.rank === 4) {
        // Dense on the channels of a feature map (ConvNeXt's pointwise layers) is a 1×1 convolution.
        const [ci, co] = ws.kernel.shape;
        const y = conv(
          g,
          x,
          layer,
          { strides: 1, padding: 'valid' },
          { values: ws.kernel.values, shape: [1, 1, ci, co] },
          false,
          c.useBias ? ws.bias.values : undefined,
        );
        return [activation(g, y, c.activation as string)];
      }
      if (x.rank !== 2)
        throw new TransferkitError(`the ONNX compiler supports Dense on flat inputs and feature maps only (layer ${layer.name} gets rank ${x.rank})`);
      const inputs2 = [x.name, g.constant(`${layer.name}_W`, ws.kernel.values, ws.kernel.shape)];
      if (c.useBias) inputs2.push(g.constant(`${layer.name}_B`, ws.bias.values, ws.bias.shape));
      return [activation(g, { name: g.op('Gemm', inputs2, {}, layer.name), rank: 2 }, c.activation as string)];
    }
    case 'BatchNormalization': {
      const ws = w();
      const n = ws.moving_mean.values.length;
      const ones = new Float32Array(n).fill(1);
      const scale = ws.gamma?.values ?? ones;
      const beta = ws.beta?.values ?? new Float32Array(n);
      const args = [x.name, ...[scale, beta, ws.moving_mean.values, ws.moving_variance.values].map((v, i) => g.constant(`${layer.name}_${i}`, v, [n]))];
      return [{ name: g.op('BatchNormalization', args, { epsilon: { float: c.epsilon as number } }, layer.name), rank: x.rank }];
    }
    case 'Activation':
      return [activation(g, x, c.activation as string)];
    case 'ReLU': {
      const max = c.maxValue as number | null | undefined;
      if (max == null) return [activation(g, x, 'relu')];
      return [{ name: g.op('Clip', [x.name, g.constant('zero', [0], []), g.constant(`${layer.name}_max`, [max], [])], {}, layer.name), rank: x.rank }];
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      return [
        {
          name: g.op(
            cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool',
            [x.name],
            { kernel_shape: pair(c.poolSize), strides: pair(c.strides ?? c.poolSize), auto_pad: autoPad(c.padding) },
            layer.name,
          ),
          rank: 4,
        },
      ];
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      const pooled = g.op(cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name], {}, layer.name);
      return [{ name: g.op('Flatten', [pooled], { axis: 1 }), rank: 2 }];
    }
    case 'ZeroPadding2D': {
      const [[t, b], [l, r]] = c.padding as number[][];
      return [{ name: g.op('Pad', [x.name, g.ints(`${layer.name}_pads`, [0, 0, t, l, 0, 0, b, r])], { mode: 'constant' }, layer.name), rank: 4 }];
    }
    case 'Cropping2D': {
      // Slice of height and width (NCHW axes 2 and 3); ends counted from the back.
      const [[t, b], [l, r]] = c.cropping as number[][];
      const starts = g.ints(`${layer.name}_starts`, [t, l]);
      const ends = g.ints(`${layer.name}_ends`, [-b || Number.MAX_SAFE_INTEGER, -r || Number.MAX_SAFE_INTEGER]);
      return [{ name: g.op('Slice', [x.name, starts, ends, g.ints(`${layer.name}_axes`, [2, 3])], {}, layer.name), rank: 4 }];
    }
    case 'Add':
    case 'Multiply': {
      const op = cls === 'Add' ? 'Add' : 'Mul';
      let acc = inputs[0].name;
      for (const other of inputs.slice(1)) acc = g.op(op, [acc, other.name], {}, layer.name);
      return [{ name: acc, rank: Math.max(...inputs.map((i) => i.rank)) }];
    }
    case 'LayerNormalization': {
      // Over the channels: axis 1 of NCHW feature maps and of [N, C] values alike.
      const axes = ([] as number[]).concat(c.axis as number | number[]);
      if (!(axes.length === 1 && (axes[0] === -1 || axes[0] === x.rank - 1))) {
        throw new TransferkitError(`the ONNX compiler supports LayerNormalization over the last axis only (layer ${layer.name})`);
      }
      const ws = w();
      const centred = g.op('Sub', [x.name, g.op('ReduceMean', [x.name], { axes: [1] })], {}, layer.name);
      const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], { axes: [1] });
      const std = g.op('Sqrt', [g.op('Add', [variance, g.constant(`${layer.name}_eps`, [c.epsilon as number], [])])]);
      let y = g.op('Div', [centred, std], {}, layer.name);
      if (ws.gamma) y = g.op('Mul', [y, channelConstant(g, `${layer.name}_gamma`, ws.gamma.values, x.rank)], {}, layer.name);
      if (ws.beta) y = g.op('Add', [y, channelConstant(g, `${layer.name}_beta`, ws.beta.values, x.rank)], {}, layer.name);
      return [{ name: y, rank: x.rank }];
    }
    case 'LayerScale':
      return [{ name: g.op('Mul', [x.name, channelConstant(g, `${layer.name}_gamma`, w().gamma.values, x.rank)], {}, layer.name), rank: x.rank }];
    case 'CustomScaleLayer': {
      // InceptionResNetV2's scaled residual: inputs[0] + inputs[1] · scale.
      const scaled = g.op('Mul', [inputs[1].name, g.constant(`${layer.name}_scale`, [c.scale as number], [])], {}, layer.name);
      return [{ name: g.op('Add', [x.name, scaled], {}, layer.name), rank: x.rank }];
    }
    case 'Concatenate': {
      const rank = x.rank;
      let axis = c.axis as number;
      if (axis < 0) axis += rank;
      // NHWC axis → NCHW axis.
      if (rank === 4) axis = [0, 2, 3, 1][axis];
      return [
        {
          name: g.op(
            'Concat',
            inputs.map((i) => i.name),
            { axis },
            layer.name,
          ),
          rank,
        },
      ];
    }
    case 'Flatten': {
      const nhwc = toNhwc(g, x);
      return [{ name: g.op('Flatten', [nhwc.name], { axis: 1 }, layer.name), rank: 2 }];
    }
    case 'Reshape': {
      const target = c.targetShape as number[];
      const y = { name: g.op('Reshape', [toNhwc(g, x).name, g.ints(`${layer.name}_shape`, [-1, ...target])], {}, layer.name), rank: target.length + 1 };
      return [toNchw(g, y)];
    }
    case 'Dropout':
    case 'SpatialDropout1D':
    case 'GaussianNoise':
    case 'GaussianDropout':
    case 'AlphaDropout':
      return [x];
    case 'Rescaling': {
      const scale = c.scale as number | number[];
      const offset = c.offset as number | number[];
      const constant = (name: string, v: number | number[]) => (Array.isArray(v) ? channelConstant(g, name, v, x.rank) : g.constant(name, [v], []));
      const scaled = g.op('Mul', [x.name, constant(`${layer.name}_scale`, scale)], {}, layer.name);
      const shifted = Array.isArray(offset) || offset !== 0 ? g.op('Add', [scaled, constant(`${layer.name}_offset`, offset)], {}, layer.name) : scaled;
      return [{ name: shifted, rank: x.rank }];
    }
    case 'Normalization': {
      // Fixed statistics live in the config (Keras's `mean=`/`variance=`), adapted ones in the weights.
      const stats = c.mean
        ? { mean: Float32Array.from(c.mean as number[]), variance: Float32Array.from(c.variance as number[]) }
        : { mean: w().mean.values, variance: w().variance.values };
      const inv = stats.variance.map((v) => 1 / Math.max(Math.sqrt(v), 1e-7));
      const centred = g.op('Sub', [x.name, channelConstant(g, `${layer.name}_mean`, stats.mean, x.rank)], {}, layer.name);
      return [{ name: g.op('Mul', [centred, channelConstant(g, `${layer.name}_inv_std`, inv, x.rank)], {}, layer.name), rank: x.rank }];
    }
    case 'UnitNormalization': {
      const norm = g.op('ReduceL2', [x.name], { axes: [-1], keepdims: 1 });
      const floor = g.op('Max', [norm, g.constant(`${layer.name}_eps`, [1e-6], [])]);
      return [{ name: g.op('Div', [x.name, floor], {}, layer.name), rank: x.rank }];
    }
    case 'NeighbourVote': {
      // The k largest similarities (and ties with the k-th) vote, weighted 1 + 0.001·similarity; see the layer.
      const labels = c.labels as number[];
      const classes = c.classes as number;
      const k = Math.min(c.k as number, labels.length);
      const [top] = g.ops('TopK', [x.name, g.ints(`${layer.name}_k`, [k])], 2, { axis: -1 });
      const kth = g.op('Slice', [top, g.ints(`${layer.name}_from`, [k - 1]), g.ints(`${layer.name}_to`, [k]), g.ints(`${layer.name}_axis`, [1])]);
      const mask = g.op('Cast', [g.op('GreaterOrEqual', [x.name, kth])], { to: 1 });
      const weight = g.op('Add', [g.op('Mul', [x.name, g.constant(`${layer.name}_tie`, [0.001], [])]), g.constant(`${layer.name}_one`, [1], [])]);
      const oneHot = new Float32Array(labels.length * classes);
      labels.forEach((l, i) => {
        oneHot[i * classes + l] = 1;
      });
      const votes = g.op('MatMul', [g.op('Mul', [mask, weight]), g.constant(`${layer.name}_labels`, oneHot, [labels.length, classes])]);
      const total = g.op('ReduceSum', [votes, g.ints(`${layer.name}_sum_axis`, [1])], { keepdims: 1 });
      return [{ name: g.op('Div', [votes, total], {}, layer.name), rank: 2 }];
    }
    default:
      throw new TransferkitError(`the ONNX compiler does not support layer ${layer.name} (${cls})`);
  }
}
