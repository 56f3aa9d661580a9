// EfficientNetB0–B7 (Tan & Le, 2019): MBConv blocks with squeeze-and-excitation and swish, its input scaling
// inside the model, B1–B7 scaled from B0 by width, depth and resolution, as keras.applications builds them.
import { tfl } from '../tfjs.js';
import {
  type ApplicationSpec,
  type BuildContext,
  type Sym,
  buildApplication,
  call,
  conv2d,
  correctPad,
  depthwiseConv2d,
  poolAndClassify,
  poolFeatures,
} from './common.js';
import type { ApplicationArgs } from './inputs.js';
import { Normalization, Rescaling } from './layers.js';

const IMAGENET_STD_RGB = [0.229, 0.224, 0.225];

interface EfficientNetSpec extends ApplicationSpec {
  width: number;
  depth: number;
  dropout: number;
}

/**
 * One EfficientNet from Keras's table: (width coefficient, depth coefficient, default size, top dropout), the
 * published md5s (top, no top; keras/src/applications/efficientnet.py) and parameter counts (Keras 3.15's
 * count_params()).
 */
function efficientNetSpec(b: number, [width, depth, defaultSize, dropout]: number[], md5: [string, string], params: [number, number]): EfficientNetSpec {
  return {
    id: `efficientnet_b${b}`,
    name: `EfficientNetB${b}`,
    defaultSize,
    minSize: 32,
    preprocessing: 'none',
    blockOf: (n) => /^(block\d[a-z]|stem|top)_/.exec(n)?.[1] ?? null,
    // Keras keeps EfficientNet's weights in a different bucket from the other applications.
    weights: [true, false].map((includeTop, i) => {
      const file = `efficientnetb${b}${includeTop ? '' : '_notop'}.h5`;
      return {
        model: `efficientnet_b${b}`,
        includeTop,
        file,
        url: `https://storage.googleapis.com/keras-applications/${file}`,
        md5: md5[i],
        params: params[i],
      };
    }),
    width,
    depth,
    dropout,
  };
}

export const EFFICIENTNET_B0 = efficientNetSpec(
  0,
  [1.0, 1.0, 224, 0.2],
  ['902e53a9f72be733fc0bcb005b3ebbac', '50bc09e76180e00e4465e1a485ddc09d'],
  [5_330_571, 4_049_571],
);
export const EFFICIENTNET_B1 = efficientNetSpec(
  1,
  [1.0, 1.1, 240, 0.2],
  ['1d254153d4ab51201f1646940f018540', '74c4e6b3e1f6a1eea24c589628592432'],
  [7_856_239, 6_575_239],
);
export const EFFICIENTNET_B2 = efficientNetSpec(
  2,
  [1.1, 1.2, 260, 0.3],
  ['b15cce36ff4dcbd00b6dd88e7857a6ad', '111f8e2ac8aa800a7a99e3239f7bfb39'],
  [9_177_569, 7_768_569],
);
export const EFFICIENTNET_B3 = efficientNetSpec(
  3,
  [1.2, 1.4, 300, 0.3],
  ['ffd1fdc53d0ce67064dc6a9c7960ede0', 'af6d107764bb5b1abb91932881670226'],
  [12_320_535, 10_783_535],
);
export const EFFICIENTNET_B4 = efficientNetSpec(
  4,
  [1.4, 1.8, 380, 0.4],
  ['18c95ad55216b8f92d7e70b3a046e2fc', 'ebc24e6d6c33eaebbd558eafbeedf1ba'],
  [19_466_823, 17_673_823],
);
export const EFFICIENTNET_B5 = efficientNetSpec(
  5,
  [1.6, 2.2, 456, 0.4],
  ['ace28f2a6363774853a83a0b21b9421a', '38879255a25d3c92d5e44e04ae6cec6f'],
  [30_562_527, 28_513_527],
);
export const EFFICIENTNET_B6 = efficientNetSpec(
  6,
  [1.8, 2.6, 528, 0.5],
  ['165f6e37dce68623721b423839de8be5', '9ecce42647a20130c1f39a5d4cb75743'],
  [43_265_143, 40_960_143],
);
export const EFFICIENTNET_B7 = efficientNetSpec(
  7,
  [2.0, 3.1, 600, 0.5],
  ['8c03f828fec3ef71311cd463b6759d99', 'cbcfe4450ddf6f3ad90b1b398090fe4a'],
  [66_658_687, 64_097_687],
);

export const convInit = () => tfl.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'truncatedNormal' });
export const denseInit = () => tfl.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanOut', distribution: 'uniform' });
const bn = (name: string) => tfl.layers.batchNormalization({ axis: 3, name });
export const swish = (name: string) => tfl.layers.activation({ activation: 'swish', name });

interface StageArgs {
  kernel: number;
  repeats: number;
  filtersIn: number;
  filtersOut: number;
  expandRatio: number;
  strides: number;
}

/** The seven MBConv stages of B0 (squeeze-excite ratio 0.25, identity skips throughout). */
const STAGES: StageArgs[] = [
  { kernel: 3, repeats: 1, filtersIn: 32, filtersOut: 16, expandRatio: 1, strides: 1 },
  { kernel: 3, repeats: 2, filtersIn: 16, filtersOut: 24, expandRatio: 6, strides: 2 },
  { kernel: 5, repeats: 2, filtersIn: 24, filtersOut: 40, expandRatio: 6, strides: 2 },
  { kernel: 3, repeats: 3, filtersIn: 40, filtersOut: 80, expandRatio: 6, strides: 2 },
  { kernel: 5, repeats: 3, filtersIn: 80, filtersOut: 112, expandRatio: 6, strides: 1 },
  { kernel: 5, repeats: 4, filtersIn: 112, filtersOut: 192, expandRatio: 6, strides: 2 },
  { kernel: 3, repeats: 1, filtersIn: 192, filtersOut: 320, expandRatio: 6, strides: 1 },
];
const SE_RATIO = 0.25;
const DROP_CONNECT_RATE = 0.2;

/** MBConv: expand 1×1 → depthwise k×k → squeeze-excite → project 1×1, residual (with drop-connect) when shapes allow. */
function mbconv(inputs: Sym, a: StageArgs, dropRate: number, name: string): Sym {
  const filters = a.filtersIn * a.expandRatio;
  let x = inputs;
  if (a.expandRatio !== 1) {
    x = call(conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(), name: `${name}expand_conv` }), x);
    x = call(swish(`${name}expand_activation`), call(bn(`${name}expand_bn`), x));
  }
  if (a.strides === 2) x = call(tfl.layers.zeroPadding2d({ padding: correctPad(x, a.kernel), name: `${name}dwconv_pad` }), x);
  x = call(
    depthwiseConv2d({
      kernelSize: a.kernel,
      strides: a.strides,
      padding: a.strides === 2 ? 'valid' : 'same',
      useBias: false,
      depthwiseInitializer: convInit(),
      name: `${name}dwconv`,
    }),
    x,
  );
  x = call(swish(`${name}activation`), call(bn(`${name}bn`), x));
  x = squeezeExcite(x, Math.max(1, Math.trunc(a.filtersIn * SE_RATIO)), filters, name);
  x = call(conv2d({ filters: a.filtersOut, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(), name: `${name}project_conv` }), x);
  x = call(bn(`${name}project_bn`), x);
  return a.strides === 1 && a.filtersIn === a.filtersOut ? residual(x, inputs, dropRate, name) : x;
}

/** Squeeze-and-excitation: channel weights from the pooled map (swish bottleneck, sigmoid gate). */
export function squeezeExcite(x: Sym, filtersSe: number, filters: number, name: string): Sym {
  let se = call(tfl.layers.globalAveragePooling2d({ name: `${name}se_squeeze` }), x);
  se = call(tfl.layers.reshape({ targetShape: [1, 1, filters], name: `${name}se_reshape` }), se);
  se = call(conv2d({ filters: filtersSe, kernelSize: 1, padding: 'same', activation: 'swish', kernelInitializer: convInit(), name: `${name}se_reduce` }), se);
  se = call(conv2d({ filters, kernelSize: 1, padding: 'same', activation: 'sigmoid', kernelInitializer: convInit(), name: `${name}se_expand` }), se);
  return call(tfl.layers.multiply({ name: `${name}se_excite` }), [x, se]);
}

/** The identity skip, with drop-connect (whole samples dropped) where the rate is not zero, as Keras skips it at zero. */
export function residual(x: Sym, inputs: Sym, dropRate: number, name: string): Sym {
  if (dropRate > 0) x = call(tfl.layers.dropout({ rate: dropRate, noiseShape: [null, 1, 1, 1] as unknown as number[], name: `${name}drop` }), x);
  return call(tfl.layers.add({ name: `${name}add` }), [x, inputs]);
}

/** Keras's `round_filters`: the width scaled and rounded to a multiple of 8, never more than 10% down. */
function roundFilters(filters: number, width: number, divisor = 8): number {
  const scaled = filters * width;
  let rounded = Math.max(divisor, Math.floor(Math.trunc(scaled + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * scaled) rounded += divisor;
  return rounded;
}

function graph(ctx: BuildContext, spec: EfficientNetSpec): Sym {
  const filtersOf = (n: number) => roundFilters(n, spec.width);
  const repeatsOf = (n: number) => Math.ceil(spec.depth * n);
  let x = call(new Rescaling({ scale: 1 / 255, name: ctx.names.next('rescaling') }), ctx.input);
  x = call(new Normalization({ axis: -1, name: ctx.names.next('normalization') }), x);
  // Keras's Normalization divides by sqrt(variance); the original divides by the variance (the std squared):
  // with ImageNet weights Keras adds the missing factor, and so do we.
  if (ctx.args.weights === 'imagenet') {
    x = call(new Rescaling({ scale: IMAGENET_STD_RGB.map((s) => 1 / Math.sqrt(s)), name: ctx.names.next('rescaling') }), x);
  }
  x = call(tfl.layers.zeroPadding2d({ padding: correctPad(x, 3), name: 'stem_conv_pad' }), x);
  x = call(
    conv2d({ filters: filtersOf(32), kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: convInit(), name: 'stem_conv' }),
    x,
  );
  x = call(swish('stem_activation'), call(bn('stem_bn'), x));
  const total = STAGES.reduce((n, s) => n + repeatsOf(s.repeats), 0);
  let b = 0;
  STAGES.forEach((unscaled, i) => {
    const stage = { ...unscaled, filtersIn: filtersOf(unscaled.filtersIn), filtersOut: filtersOf(unscaled.filtersOut) };
    for (let j = 0; j < repeatsOf(stage.repeats); j++) {
      const args = j === 0 ? stage : { ...stage, strides: 1, filtersIn: stage.filtersOut };
      x = mbconv(x, args, (DROP_CONNECT_RATE * b) / total, `block${i + 1}${String.fromCharCode(97 + j)}_`);
      b++;
    }
  });
  x = call(conv2d({ filters: filtersOf(1280), kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(), name: 'top_conv' }), x);
  x = call(swish('top_activation'), call(bn('top_bn'), x));
  if (!ctx.args.includeTop) return poolFeatures(x, ctx, { avg: 'avg_pool', max: 'max_pool' });
  return poolAndClassify(x, ctx, { poolName: 'avg_pool', dropout: spec.dropout, kernelInitializer: denseInit() });
}

const builder =
  (spec: EfficientNetSpec) =>
  (args: ApplicationArgs = {}) =>
    buildApplication(spec, args, (ctx) => graph(ctx, spec), { modelName: () => spec.name.toLowerCase() });

/** keras.applications.EfficientNetB0 … EfficientNetB7. */
export const efficientnetB0 = builder(EFFICIENTNET_B0);
/** keras.applications.EfficientNetB1. */
export const efficientnetB1 = builder(EFFICIENTNET_B1);
/** keras.applications.EfficientNetB2. */
export const efficientnetB2 = builder(EFFICIENTNET_B2);
/** keras.applications.EfficientNetB3. */
export const efficientnetB3 = builder(EFFICIENTNET_B3);
/** keras.applications.EfficientNetB4. */
export const efficientnetB4 = builder(EFFICIENTNET_B4);
/** keras.applications.EfficientNetB5. */
export const efficientnetB5 = builder(EFFICIENTNET_B5);
/** keras.applications.EfficientNetB6. */
export const efficientnetB6 = builder(EFFICIENTNET_B6);
/** keras.applications.EfficientNetB7. */
export const efficientnetB7 = builder(EFFICIENTNET_B7);
