// Convolutions in the inference graph: ONNX Conv on NCHW with OIHW constants, one GEMM over the whole batch where a
// convolution has few output positions, or Winograd's F(4×4, 3×3) where a 3×3 one is wide (conv-winograd.ts).
import type * as tfl from '@tensorflow/tfjs-layers';
import type { GraphBuilder } from '../graph.js';
import { type Weight, autoPad, hwioToOihw, pair, toNchw, toNhwc } from './nchw.js';
import type { Config, Value } from './types.js';
import { type Window, im2col, windowOf } from './window.js';
import { MIN_CHANNELS, winogradConv, winogradFits } from './conv-winograd.js';

/** Output positions per image up to which a convolution runs as one GEMM over the whole batch (see convAsGemm). */
const GEMM_MAX_POSITIONS = 16;

/** Weights up to which a convolution over a tiny input is one dense matrix (VGG16's 2×2 block: 4M each). */
const DENSE_MAX_WEIGHTS = 16 * 2 ** 20;

/**
 * A convolution with few output positions (VGG's 4×4 and 2×2 blocks at 32×32 input) as im2col + one MatMul over
 * the whole batch, in NHWC: ORT's NCHWc convolution works image by image and reaches a third of its speed
 * there (108 against 385 GFLOP/s on 2 cores), while the GEMM has batch × positions rows to work on.
 */
export function convAsGemm(g: GraphBuilder, x: Value, layer: tfl.layers.Layer, c: Config, kernel: Weight, bias?: Float32Array): Value | null {
  const [kh, kw, ci, co] = kernel.shape;
  const win = windowIn(layer, c, kernel);
  if (!win || win.oh * win.ow > GEMM_MAX_POSITIONS) return null;
  const { h, w } = win;
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

/**
 * A wide 3×3 stride-1 convolution as Winograd's F(4×4, 3×3) (conv-winograd.ts), where it pays at the graph's
 * batch size (`batch`: MIN_ROWS tile rows or more); not before a BatchNormalization, which ONNX Runtime folds into
 * a Conv node (with the activation and a residual Add after it) and not into the tiled form (ResNet50's forward 3%
 * slower with it).
 */
export function convWinograd(g: GraphBuilder, x: Value, layer: tfl.layers.Layer, c: Config, kernel: Weight, batch: number, bias?: Float32Array): Value | null {
  const win = windowIn(layer, c, kernel);
  const [, , ci, co] = kernel.shape;
  const norm = layer.outboundNodes.some((n) => (n.outboundLayer as tfl.layers.Layer).getClassName() === 'BatchNormalization');
  const fits = win && !norm && winogradFits(win, ci, co, MIN_CHANNELS.infer, batch);
  return fits ? winogradConv(g, x, layer.name, win, kernel, bias) : null;
}

/** A convolution layer's window over its input, where strides are square, there is no dilation and the size is known. */
function windowIn(layer: tfl.layers.Layer, c: Config, kernel: Weight): Window | null {
  const [kh, kw] = kernel.shape;
  const [sh, sw] = pair(c.strides);
  const [dh, dw] = pair(c.dilationRate ?? 1);
  const [h, w] = (layer.inboundNodes[0]?.inputTensors[0]?.shape ?? []).slice(1);
  if (sh !== sw || dh !== 1 || dw !== 1 || typeof h !== 'number' || typeof w !== 'number') return null;
  return windowOf(h, w, kh, kw, sh, c.padding as 'same' | 'valid');
}

/** A convolution as one linear map of the whole image, HWC → OH·OW·CO: [H·W·CI, OH·OW·CO], taps in padding left out. */
function convMatrix(kernel: Weight, win: Window): Float32Array {
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

/** ONNX Conv with the kernel as an OIHW constant (depthwise: a grouped convolution, one group per channel). */
export function conv(g: GraphBuilder, x: Value, layer: tfl.layers.Layer, c: Config, kernel: Weight, depthwise: boolean, bias?: Float32Array): Value {
  const w = hwioToOihw(kernel.values, kernel.shape, depthwise);
  const inputs = [x.name, g.constant(`${layer.name}_W`, w.values, w.dims)];
  if (bias) inputs.push(g.constant(`${layer.name}_B`, bias, [bias.length]));
  const attrs = {
    kernel_shape: w.dims.slice(2),
    strides: pair(c.strides),
    dilations: pair(c.dilationRate ?? 1),
    auto_pad: autoPad(c.padding),
    group: depthwise ? kernel.shape[2] : 1,
  };
  return { name: g.op('Conv', inputs, attrs, layer.name), rank: 4 };
}
