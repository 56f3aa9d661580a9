// MobileNetV3 Small and Large (Howard et al., 2019): inverted residual blocks with squeeze-excite gated by
// hard-sigmoid, hard-swish activations, its [-1, 1] scaling inside the model, and Keras 3's top (a 1×1 `logits`
// convolution), as keras.applications builds them.
import { tfl } from '../tfjs.js';
import { TransferkitError } from '../errors.js';
import { KERAS_APPLICATIONS_URL, type WeightsEntry } from '../weights/remote.js';
import {
  type ApplicationSpec,
  type BuildContext,
  type Sym,
  activationName,
  buildApplication,
  call,
  conv2d,
  correctPad,
  depthwiseConv2d,
  poolFeatures,
} from './common.js';
import type { ApplicationArgs } from './inputs.js';
import { Rescaling } from './layers.js';

export interface MobileNetV3Args extends ApplicationArgs {
  /** Width multiplier (ImageNet weights: 0.75 or 1.0; 1.0 only when minimalistic). */
  alpha?: number;
  /** No squeeze-excite, no hard-swish, 3×3 kernels only (default false). */
  minimalistic?: boolean;
  /** Scale inputs to [-1, 1] inside the model (default true). */
  includePreprocessing?: boolean;
  /** Dropout before the `logits` convolution (default 0.2). */
  dropoutRate?: number;
}

type Size = 'small' | 'large';

/** Keras's WEIGHTS_HASHES (top, no top) by `<size>[_minimalistic]_224_<alpha>_float`. */
const HASHES: Record<string, [string, string]> = {
  'large_224_0.75_float': ['765b44a33ad4005b3ac83185abf1d0eb', '40af19a13ebea4e2ee0c676887f69a2e'],
  'large_224_1.0_float': ['59e551e166be033d707958cf9e29a6a7', '07fb09a5933dd0c8eaafa16978110389'],
  'large_minimalistic_224_1.0_float': ['675e7b876c45c57e9e63e6d90a36599c', 'ec5221f64a2f6d1ef965a614bdae7973'],
  'small_224_0.75_float': ['cb65d4e5be93758266aa0a7f2c6708b7', 'ebdb5cc8e0b497cd13a7c275d475c819'],
  'small_224_1.0_float': ['8768d4c2e7dee89b9d02b2d03d65d862', 'd3e8ec802a04aa4fc771ee12a9a9b836'],
  'small_minimalistic_224_1.0_float': ['99cd97fb2fcdad2bf028eb838de69e37', 'cde8136e733e811080d9fcd8a252f7e4'],
};

/** Parameter counts of the default variant (alpha 1.0, not minimalistic), from Keras 3.15's count_params(). */
const PARAMS: Record<Size, [number, number]> = { small: [2_554_968, 939_120], large: [5_507_432, 2_996_352] };

function weights(size: Size): WeightsEntry[] {
  return Object.entries(HASHES)
    .filter(([key]) => key.startsWith(size))
    .flatMap(([key, md5]) => {
      const minimalistic = key.includes('minimalistic') ? 1 : 0;
      const alpha = Number(/_([\d.]+)_float$/.exec(key)?.[1]);
      return [true, false].map((includeTop, i) => {
        const file = `weights_mobilenet_v3_${key}${includeTop ? '' : '_no_top_v2'}.h5`;
        const known = alpha === 1 && !minimalistic ? { params: PARAMS[size][i] } : {};
        return {
          model: `mobilenet_v3_${size}`,
          includeTop,
          file,
          url: `${KERAS_APPLICATIONS_URL}/mobilenet_v3/${file}`,
          md5: md5[i],
          variant: { alpha, minimalistic },
          ...known,
        };
      });
    });
}

const spec = (size: Size): ApplicationSpec => ({
  id: `mobilenet_v3_${size}`,
  name: `MobileNetV3${size === 'small' ? 'Small' : 'Large'}`,
  defaultSize: 224,
  minSize: 32,
  takesAlpha: true,
  // The model scales its own inputs (include_preprocessing); without it the builder records 'tf'.
  preprocessing: 'none',
  weights: weights(size),
  // The stem `conv`, each `expanded_conv[_N]` block, and the last 1×1 `conv_1`.
  blockOf: (n) => /^(expanded_conv(_\d+)?)_/.exec(n)?.[1] ?? (/^conv_1(_bn)?$/.test(n) ? 'conv_1' : /^conv(_bn)?$/.test(n) ? 'conv' : null),
});

export const MOBILENET_V3_SMALL = spec('small');
export const MOBILENET_V3_LARGE = spec('large');

/** Keras's `_depth`: round to a multiple of 8, never more than 10% down. */
function depth(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

const bn = (name: string) => tfl.layers.batchNormalization({ axis: -1, epsilon: 1e-3, momentum: 0.999, name });

/** Keras's activations here take their automatic names from the model's counters. */
type Act = (x: Sym, ctx: BuildContext) => Sym;
const relu: Act = (x, ctx) => call(tfl.layers.reLU({ name: ctx.names.next('re_lu') }), x);
const hardSwish: Act = (x, ctx) => call(tfl.layers.activation({ activation: 'hardSwish' as never, name: ctx.names.next('activation') }), x);
/**
 * Keras's `ReLU(6.)(x + 3.) * (1. / 6.)`: its two arithmetic operations become `Rescaling` layers here (tfjs
 * has no operation layers), named as Keras names the operations.
 */
const hardSigmoid: Act = (x, ctx) => {
  x = call(new Rescaling({ scale: 1, offset: 3, name: ctx.names.next('add') }), x);
  x = call(tfl.layers.reLU({ maxValue: 6, name: ctx.names.next('re_lu') }), x);
  return call(new Rescaling({ scale: 1 / 6, name: ctx.names.next('multiply') }), x);
};

/** Global average pooling kept 4-D (Keras's `keepdims=True`): pooling + reshape, as tfjs has no keepdims. */
function poolKeepDims(x: Sym, poolName: string, ctx: BuildContext, reshapeName = ctx.names.next('reshape')): Sym {
  const channels = x.shape[3] as number;
  x = call(tfl.layers.globalAveragePooling2d({ name: poolName }), x);
  return call(tfl.layers.reshape({ targetShape: [1, 1, channels], name: reshapeName }), x);
}

function seBlock(inputs: Sym, filters: number, seRatio: number, prefix: string, ctx: BuildContext): Sym {
  let x = poolKeepDims(inputs, `${prefix}squeeze_excite_avg_pool`, ctx, `${prefix}squeeze_excite_reshape`);
  x = call(conv2d({ filters: depth(filters * seRatio), kernelSize: 1, padding: 'same', name: `${prefix}squeeze_excite_conv` }), x);
  x = call(tfl.layers.reLU({ name: `${prefix}squeeze_excite_relu` }), x);
  x = call(conv2d({ filters, kernelSize: 1, padding: 'same', name: `${prefix}squeeze_excite_conv_1` }), x);
  x = hardSigmoid(x, ctx);
  return call(tfl.layers.multiply({ name: `${prefix}squeeze_excite_mul` }), [inputs, x]);
}

/** Keras's `_inverted_res_block`. */
function invertedResBlock(
  inputs: Sym,
  expansion: number,
  filters: number,
  kernel: number,
  stride: number,
  seRatio: number | null,
  act: Act,
  id: number,
  ctx: BuildContext,
): Sym {
  const inFilters = inputs.shape[3] as number;
  let prefix = 'expanded_conv_';
  let x = inputs;
  if (id) {
    prefix = `expanded_conv_${id}_`;
    x = call(conv2d({ filters: depth(inFilters * expansion), kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` }), x);
    x = act(call(bn(`${prefix}expand_bn`), x), ctx);
  }
  if (stride === 2) x = call(tfl.layers.zeroPadding2d({ padding: correctPad(x, kernel), name: `${prefix}depthwise_pad` }), x);
  x = call(depthwiseConv2d({ kernelSize: kernel, strides: stride, padding: stride === 1 ? 'same' : 'valid', useBias: false, name: `${prefix}depthwise` }), x);
  x = act(call(bn(`${prefix}depthwise_bn`), x), ctx);
  if (seRatio) x = seBlock(x, depth(inFilters * expansion), seRatio, prefix, ctx);
  x = call(conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` }), x);
  x = call(bn(`${prefix}project_bn`), x);
  return stride === 1 && inFilters === filters ? call(tfl.layers.add({ name: `${prefix}add` }), [inputs, x]) : x;
}

/** One block of a stack: [expansion, filters, kernel ('k' = the model's), stride, squeeze-excite?, activation ('a' = the model's)]. */
type Row = [number, number, 3 | 'k', number, boolean, 'relu' | 'a'];

const STACKS: Record<Size, Row[]> = {
  small: [
    [1, 16, 3, 2, true, 'relu'],
    [72 / 16, 24, 3, 2, false, 'relu'],
    [88 / 24, 24, 3, 1, false, 'relu'],
    [4, 40, 'k', 2, true, 'a'],
    [6, 40, 'k', 1, true, 'a'],
    [6, 40, 'k', 1, true, 'a'],
    [3, 48, 'k', 1, true, 'a'],
    [3, 48, 'k', 1, true, 'a'],
    [6, 96, 'k', 2, true, 'a'],
    [6, 96, 'k', 1, true, 'a'],
    [6, 96, 'k', 1, true, 'a'],
  ],
  large: [
    [1, 16, 3, 1, false, 'relu'],
    [4, 24, 3, 2, false, 'relu'],
    [3, 24, 3, 1, false, 'relu'],
    [3, 40, 'k', 2, true, 'relu'],
    [3, 40, 'k', 1, true, 'relu'],
    [3, 40, 'k', 1, true, 'relu'],
    [6, 80, 3, 2, false, 'a'],
    [2.5, 80, 3, 1, false, 'a'],
    [2.3, 80, 3, 1, false, 'a'],
    [2.3, 80, 3, 1, false, 'a'],
    [6, 112, 3, 1, true, 'a'],
    [6, 112, 3, 1, true, 'a'],
    [6, 160, 'k', 2, true, 'a'],
    [6, 160, 'k', 1, true, 'a'],
    [6, 160, 'k', 1, true, 'a'],
  ],
};
const LAST_POINT: Record<Size, number> = { small: 1024, large: 1280 };

interface Options {
  alpha: number;
  minimalistic: boolean;
  includePreprocessing: boolean;
  dropoutRate: number;
}

function graph(ctx: BuildContext, size: Size, o: Options): Sym {
  const kernel = o.minimalistic ? 3 : 5;
  const act = o.minimalistic ? relu : hardSwish;
  const seRatio = o.minimalistic ? null : 0.25;
  let x = ctx.input;
  if (o.includePreprocessing) x = call(new Rescaling({ scale: 1 / 127.5, offset: -1, name: ctx.names.next('rescaling') }), x);
  x = call(conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'conv' }), x);
  x = act(call(bn('conv_bn'), x), ctx);
  STACKS[size].forEach(([expansion, filters, k, stride, se, a], id) => {
    x = invertedResBlock(x, expansion, depth(filters * o.alpha), k === 'k' ? kernel : k, stride, se ? seRatio : null, a === 'relu' ? relu : act, id, ctx);
  });
  const lastConv = depth((x.shape[3] as number) * 6);
  const lastPoint = o.alpha > 1 ? depth(LAST_POINT[size] * o.alpha) : LAST_POINT[size];
  x = call(conv2d({ filters: lastConv, kernelSize: 1, padding: 'same', useBias: false, name: 'conv_1' }), x);
  x = act(call(bn('conv_1_bn'), x), ctx);
  if (!ctx.args.includeTop) return poolFeatures(x, ctx, { avg: 'avg_pool', max: 'max_pool' });
  x = poolKeepDims(x, ctx.names.next('global_average_pooling2d'), ctx);
  x = call(conv2d({ filters: lastPoint, kernelSize: 1, padding: 'same', name: 'conv_2' }), x);
  x = act(x, ctx);
  if (o.dropoutRate > 0) x = call(tfl.layers.dropout({ rate: o.dropoutRate, name: ctx.names.next('dropout') }), x);
  x = call(conv2d({ filters: ctx.args.classes, kernelSize: 1, padding: 'same', name: 'logits' }), x);
  x = call(tfl.layers.flatten({ name: ctx.names.next('flatten') }), x);
  return call(tfl.layers.activation({ activation: activationName(ctx.args.classifierActivation), name: 'predictions' }), x);
}

const builder =
  (s: ApplicationSpec, size: Size) =>
  (args: MobileNetV3Args = {}) => {
    const { alpha = 1.0, minimalistic = false, includePreprocessing = true, dropoutRate = 0.2, ...rest } = args;
    const used = includePreprocessing ? s : { ...s, preprocessing: 'tf' as const };
    return buildApplication(used, rest, (ctx) => graph(ctx, size, { alpha, minimalistic, includePreprocessing, dropoutRate }), {
      weightsVariant(a): Record<string, number> {
        if (a.weights !== 'imagenet') return {};
        if (minimalistic ? alpha !== 1 : alpha !== 0.75 && alpha !== 1) {
          throw new TransferkitError(`${s.name} with 'imagenet' weights needs alpha 0.75 or 1.0 (1.0 only when minimalistic); got ${alpha}`);
        }
        const [rows, cols] = a.inputShape;
        if (rows !== 224 || cols !== 224) process.stderr.write(`transferkit: ${s.name} input is not 224x224; loading the ImageNet weights for 224x224\n`);
        return { alpha, minimalistic: minimalistic ? 1 : 0 };
      },
      modelName: () => s.name,
    });
  };

/** keras.applications.MobileNetV3Small and MobileNetV3Large. */
export const mobilenetV3Small = builder(MOBILENET_V3_SMALL, 'small');
/** keras.applications.MobileNetV3Large. */
export const mobilenetV3Large = builder(MOBILENET_V3_LARGE, 'large');
