// EfficientNetV2 B0–B3, S, M, L (Tan & Le, 2021): fused-MBConv blocks (one full k×k convolution) early, MBConv
// with squeeze-excite later, swish, BatchNorm momentum 0.9, its preprocessing inside the model, as
// keras.applications builds them.
import { tfl } from '../tfjs.js';
import { KERAS_APPLICATIONS_URL } from '../weights/remote.js';
import { type ApplicationSpec, type BuildContext, type Sym, buildApplication, call, conv2d, depthwiseConv2d, poolAndClassify, poolFeatures } from './common.js';
import { convInit, denseInit, residual, squeezeExcite, swish } from './efficientnet.js';
import type { ApplicationArgs } from './inputs.js';
import { Normalization, Rescaling } from './layers.js';

/** One stage: [fused?, kernel, repeats, filters in, filters out, expand ratio, squeeze-excite ratio, strides]. */
type Stage = [0 | 1, number, number, number, number, number, number, number];

// Keras's DEFAULT_BLOCKS_ARGS (conv_type 1 = fused); B1–B3 share B0's and scale it.
const BLOCKS: Record<'b0' | 's' | 'm' | 'l', Stage[]> = {
  b0: [
    [1, 3, 1, 32, 16, 1, 0, 1],
    [1, 3, 2, 16, 32, 4, 0, 2],
    [1, 3, 2, 32, 48, 4, 0, 2],
    [0, 3, 3, 48, 96, 4, 0.25, 2],
    [0, 3, 5, 96, 112, 6, 0.25, 1],
    [0, 3, 8, 112, 192, 6, 0.25, 2],
  ],
  s: [
    [1, 3, 2, 24, 24, 1, 0, 1],
    [1, 3, 4, 24, 48, 4, 0, 2],
    [1, 3, 4, 48, 64, 4, 0, 2],
    [0, 3, 6, 64, 128, 4, 0.25, 2],
    [0, 3, 9, 128, 160, 6, 0.25, 1],
    [0, 3, 15, 160, 256, 6, 0.25, 2],
  ],
  m: [
    [1, 3, 3, 24, 24, 1, 0, 1],
    [1, 3, 5, 24, 48, 4, 0, 2],
    [1, 3, 5, 48, 80, 4, 0, 2],
    [0, 3, 7, 80, 160, 4, 0.25, 2],
    [0, 3, 14, 160, 176, 6, 0.25, 1],
    [0, 3, 18, 176, 304, 6, 0.25, 2],
    [0, 3, 5, 304, 512, 6, 0.25, 1],
  ],
  l: [
    [1, 3, 4, 32, 32, 1, 0, 1],
    [1, 3, 7, 32, 64, 4, 0, 2],
    [1, 3, 7, 64, 96, 4, 0, 2],
    [0, 3, 10, 96, 192, 4, 0.25, 2],
    [0, 3, 19, 192, 224, 6, 0.25, 1],
    [0, 3, 25, 224, 384, 6, 0.25, 2],
    [0, 3, 7, 384, 640, 6, 0.25, 1],
  ],
};
const DROP_CONNECT_RATE = 0.2;
const TOP_DROPOUT = 0.2;

interface EfficientNetV2Spec extends ApplicationSpec {
  variant: string;
  width: number;
  depth: number;
  blocks: Stage[];
}

/**
 * One model of Keras's table: width and depth coefficients, default size, the md5s (top, no top) of
 * keras/src/applications/efficientnet_v2.py and parameter counts from Keras 3.15's count_params().
 */
function spec(variant: string, width: number, depth: number, defaultSize: number, md5: [string, string], params: [number, number]): EfficientNetV2Spec {
  const id = `efficientnet_v2_${variant}`;
  return {
    id,
    name: `EfficientNetV2${variant.toUpperCase()}`,
    defaultSize,
    minSize: 32,
    // The model scales its own inputs (include_preprocessing; without it the builder records what the data needs).
    preprocessing: 'none',
    blockOf: (n) => /^(block\d[a-z]|stem|top)_/.exec(n)?.[1] ?? null,
    weights: [true, false].map((includeTop, i) => {
      const file = `efficientnetv2-${variant}${includeTop ? '' : '_notop'}.h5`;
      return { model: id, includeTop, file, url: `${KERAS_APPLICATIONS_URL}/efficientnet_v2/${file}`, md5: md5[i], params: params[i] };
    }),
    variant,
    width,
    depth,
    blocks: BLOCKS[variant.startsWith('b') ? 'b0' : (variant as 's' | 'm' | 'l')],
  };
}

export const EFFICIENTNET_V2_B0 = spec('b0', 1.0, 1.0, 224, ['21ecbf6da12460d5c40bb2f29ceb2188', '893217f2bb855e2983157299931e43ff'], [7_200_312, 5_919_312]);
export const EFFICIENTNET_V2_B1 = spec('b1', 1.0, 1.1, 240, ['069f0534ff22adf035c89e2d9547a9dc', '0e80663031ca32d657f9caa404b6ec37'], [8_212_124, 6_931_124]);
export const EFFICIENTNET_V2_B2 = spec('b2', 1.1, 1.2, 260, ['424e49f28180edbde1e94797771950a7', '1dfe2e7a5d45b6632553a8961ea609eb'], [10_178_374, 8_769_374]);
export const EFFICIENTNET_V2_B3 = spec('b3', 1.2, 1.4, 300, ['1f1fc43bd98a6e4fd8fdfd551e02c7a0', 'f6abf7b5849ac99a89b50dd3fd532856'], [14_467_622, 12_930_622]);
export const EFFICIENTNET_V2_S = spec('s', 1.0, 1.0, 384, ['e1d88a8495beba45748fedd0cecbe016', 'af0682fb74e8c54910f2d4393339c070'], [21_612_360, 20_331_360]);
export const EFFICIENTNET_V2_M = spec('m', 1.0, 1.0, 480, ['a3bf6aa3276309f4fc6a34aa114c95cd', '1b8dc055df72dde80d614482840fe342'], [54_431_388, 53_150_388]);
export const EFFICIENTNET_V2_L = spec('l', 1.0, 1.0, 480, ['27e6d408b53c7ebc868fefa357689935', 'b0b66b5c863aef5b46e8608fe1711615'], [119_027_848, 117_746_848]);

const bn = (name: string) => tfl.layers.batchNormalization({ axis: 3, momentum: 0.9, name });
const conv = (filters: number, kernelSize: number, strides: number, name: string) =>
  conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: convInit(), name });

/** Keras's V2 `round_filters`: the width scaled and rounded to a multiple of 8 (no 10% rule, unlike V1). */
const roundFilters = (filters: number, width: number, divisor = 8) =>
  Math.max(divisor, Math.floor(Math.trunc(filters * width + divisor / 2) / divisor) * divisor);

interface BlockArgs {
  fused: boolean;
  kernel: number;
  filtersIn: number;
  filtersOut: number;
  expandRatio: number;
  seRatio: number;
  strides: number;
}

/** MBConv (depthwise k×k between 1×1s) or fused-MBConv (one k×k in place of expand + depthwise). */
function block(inputs: Sym, a: BlockArgs, dropRate: number, name: string): Sym {
  const filters = a.filtersIn * a.expandRatio;
  let x = inputs;
  if (a.expandRatio !== 1) {
    x = call(conv(filters, a.fused ? a.kernel : 1, a.fused ? a.strides : 1, `${name}expand_conv`), x);
    x = call(swish(`${name}expand_activation`), call(bn(`${name}expand_bn`), x));
  }
  if (!a.fused) {
    x = call(
      depthwiseConv2d({ kernelSize: a.kernel, strides: a.strides, padding: 'same', useBias: false, depthwiseInitializer: convInit(), name: `${name}dwconv2` }),
      x,
    );
    x = call(swish(`${name}activation`), call(bn(`${name}bn`), x));
  }
  if (a.seRatio > 0 && a.seRatio <= 1) x = squeezeExcite(x, Math.max(1, Math.trunc(a.filtersIn * a.seRatio)), filters, name);
  // A fused block without expansion does its k×k (and stride) here, and keeps an activation after it.
  const projectK = a.fused && a.expandRatio === 1 ? a.kernel : 1;
  x = call(conv(a.filtersOut, projectK, projectK === 1 ? 1 : a.strides, `${name}project_conv`), x);
  x = call(bn(`${name}project_bn`), x);
  if (a.fused && a.expandRatio === 1) x = call(swish(`${name}project_activation`), x);
  return a.strides === 1 && a.filtersIn === a.filtersOut ? residual(x, inputs, dropRate, name) : x;
}

function graph(ctx: BuildContext, s: EfficientNetV2Spec, includePreprocessing: boolean): Sym {
  let x = ctx.input;
  if (includePreprocessing) {
    // B models keep V1's ImageNet normalisation (where the input has 3 channels); S, M, L scale to [-1, 1].
    if (s.variant.startsWith('b') && ctx.args.inputShape[2] === 3) {
      x = call(new Rescaling({ scale: 1 / 255, name: ctx.names.next('rescaling') }), x);
      x = call(
        new Normalization({ axis: 3, mean: [0.485, 0.456, 0.406], variance: [0.229 ** 2, 0.224 ** 2, 0.225 ** 2], name: ctx.names.next('normalization') }),
        x,
      );
    } else {
      x = call(new Rescaling({ scale: 1 / 128, offset: -1, name: ctx.names.next('rescaling') }), x);
    }
  }
  const filtersOf = (n: number) => roundFilters(n, s.width);
  x = call(conv(filtersOf(s.blocks[0][3]), 3, 2, 'stem_conv'), x);
  x = call(swish('stem_activation'), call(bn('stem_bn'), x));
  // Keras divides by the unscaled block count, so drop-connect reaches past 0.2 in deeper variants: kept as is.
  const total = s.blocks.reduce((n, st) => n + st[2], 0);
  let b = 0;
  s.blocks.forEach(([fused, kernel, repeats, filtersIn, filtersOut, expandRatio, seRatio, strides], i) => {
    const first: BlockArgs = { fused: fused === 1, kernel, filtersIn: filtersOf(filtersIn), filtersOut: filtersOf(filtersOut), expandRatio, seRatio, strides };
    for (let j = 0; j < Math.ceil(s.depth * repeats); j++) {
      const a = j === 0 ? first : { ...first, strides: 1, filtersIn: first.filtersOut };
      x = block(x, a, (DROP_CONNECT_RATE * b) / total, `block${i + 1}${String.fromCharCode(97 + j)}_`);
      b++;
    }
  });
  x = call(conv2d({ filters: filtersOf(1280), kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(), name: 'top_conv' }), x);
  x = call(swish('top_activation'), call(bn('top_bn'), x));
  if (!ctx.args.includeTop) return poolFeatures(x, ctx, { avg: 'avg_pool', max: 'max_pool' });
  return poolAndClassify(x, ctx, { poolName: 'avg_pool', dropout: TOP_DROPOUT, kernelInitializer: denseInit() });
}

export interface EfficientNetV2Args extends ApplicationArgs {
  /** Scale inputs inside the model (default true, Keras's `include_preprocessing`). */
  includePreprocessing?: boolean;
}

const builder =
  (s: EfficientNetV2Spec) =>
  (args: EfficientNetV2Args = {}) => {
    const { includePreprocessing = true, ...rest } = args;
    // Without the model's own scaling, the data pipeline does it: ImageNet mean/std for B models, [-1, 1] else.
    const used = includePreprocessing ? s : { ...s, preprocessing: s.variant.startsWith('b') ? ('torch' as const) : ('tf' as const) };
    return buildApplication(used, rest, (ctx) => graph(ctx, s, includePreprocessing), { modelName: () => `efficientnetv2-${s.variant}` });
  };

/** keras.applications.EfficientNetV2B0 … B3, S, M and L. */
export const efficientnetV2B0 = builder(EFFICIENTNET_V2_B0);
/** keras.applications.EfficientNetV2B1. */
export const efficientnetV2B1 = builder(EFFICIENTNET_V2_B1);
/** keras.applications.EfficientNetV2B2. */
export const efficientnetV2B2 = builder(EFFICIENTNET_V2_B2);
/** keras.applications.EfficientNetV2B3. */
export const efficientnetV2B3 = builder(EFFICIENTNET_V2_B3);
/** keras.applications.EfficientNetV2S. */
export const efficientnetV2S = builder(EFFICIENTNET_V2_S);
/** keras.applications.EfficientNetV2M. */
export const efficientnetV2M = builder(EFFICIENTNET_V2_M);
/** keras.applications.EfficientNetV2L. */
export const efficientnetV2L = builder(EFFICIENTNET_V2_L);
