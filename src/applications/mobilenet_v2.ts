// MobileNetV2 (Sandler et al., 2018): inverted residual blocks with linear bottlenecks, as keras.applications
// builds it.
import { tfl } from '../tfjs.js';
import { TransferkitError } from '../errors.js';
import { KERAS_APPLICATIONS_URL, type WeightsEntry } from '../weights/remote.js';
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
  widthAndSizeHooks,
} from './common.js';
import type { ApplicationArgs } from './inputs.js';

export interface MobileNetV2Args extends ApplicationArgs {
  /** Width multiplier (ImageNet weights: 0.35, 0.5, 0.75, 1.0, 1.3, 1.4). */
  alpha?: number;
}

const ALPHAS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4];
const SIZES = [96, 128, 160, 192, 224];
/** Python's `float(alpha)` text, as in Keras's file names: 1 → "1.0". */
const pyFloat = (a: number) => (Number.isInteger(a) ? a.toFixed(1) : String(a));

function weights(): WeightsEntry[] {
  // Keras publishes the widest two at 224 only.
  return ALPHAS.flatMap((alpha) =>
    (alpha > 1 ? [224] : SIZES).flatMap((size) =>
      [true, false].map((includeTop) => {
        const file = `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${pyFloat(alpha)}_${size}${includeTop ? '' : '_no_top'}.h5`;
        const known = alpha === 1 && size === 224 ? { params: includeTop ? 3_538_984 : 2_257_984 } : {};
        return { model: 'mobilenet_v2', includeTop, file, url: `${KERAS_APPLICATIONS_URL}/mobilenet_v2/${file}`, variant: { alpha, size }, ...known };
      }),
    ),
  );
}

export const MOBILENET_V2: ApplicationSpec = {
  id: 'mobilenet_v2',
  name: 'MobileNetV2',
  takesAlpha: true,
  defaultSize: 224,
  minSize: 32,
  preprocessing: 'tf',
  weights: weights(),
  blockOf: (n) =>
    /^block_\d+/.exec(n)?.[0] ??
    (n.startsWith('expanded_conv_') ? 'block_0' : /^(Conv1|bn_Conv1)/.test(n) ? 'stem' : /^(Conv_1|out_relu)/.test(n) ? 'head' : null),
};

/** Keras's `_make_divisible`: round to a multiple of 8, never more than 10% down. */
function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

const bn = (name: string) => tfl.layers.batchNormalization({ axis: -1, epsilon: 1e-3, momentum: 0.999, name });
const relu6 = (name: string) => tfl.layers.reLU({ maxValue: 6, name });

/** Expand 1×1 (not in block 0) → depthwise 3×3 → project 1×1 (linear), with a residual when shapes allow. */
function invertedResidual(inputs: Sym, expansion: number, stride: number, alpha: number, filters: number, id: number): Sym {
  const inChannels = inputs.shape[3] as number;
  const pointwise = makeDivisible(Math.trunc(filters * alpha));
  const prefix = id ? `block_${id}_` : 'expanded_conv_';
  let x = inputs;
  if (id) {
    x = call(conv2d({ filters: expansion * inChannels, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` }), x);
    x = call(relu6(`${prefix}expand_relu`), call(bn(`${prefix}expand_BN`), x));
  }
  if (stride === 2) x = call(tfl.layers.zeroPadding2d({ padding: correctPad(x, 3), name: `${prefix}pad` }), x);
  x = call(depthwiseConv2d({ kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', name: `${prefix}depthwise` }), x);
  x = call(relu6(`${prefix}depthwise_relu`), call(bn(`${prefix}depthwise_BN`), x));
  x = call(conv2d({ filters: pointwise, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` }), x);
  x = call(bn(`${prefix}project_BN`), x);
  return inChannels === pointwise && stride === 1 ? call(tfl.layers.add({ name: `${prefix}add` }), [inputs, x]) : x;
}

/** [filters, stride, expansion] of blocks 0–16 (the paper's Table 2, one row per block). */
const BLOCKS: Array<[number, number, number]> = [
  [16, 1, 1],
  [24, 2, 6],
  [24, 1, 6],
  [32, 2, 6],
  [32, 1, 6],
  [32, 1, 6],
  [64, 2, 6],
  [64, 1, 6],
  [64, 1, 6],
  [64, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [160, 2, 6],
  [160, 1, 6],
  [160, 1, 6],
  [320, 1, 6],
];

function graph(ctx: BuildContext, alpha: number): Sym {
  let x = call(conv2d({ filters: makeDivisible(32 * alpha), kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }), ctx.input);
  x = call(relu6('Conv1_relu'), call(bn('bn_Conv1'), x));
  BLOCKS.forEach(([filters, stride, expansion], id) => {
    x = invertedResidual(x, expansion, stride, alpha, filters, id);
  });
  // The paper applies no width multiplier below 1 to the last conv.
  const last = alpha > 1 ? makeDivisible(1280 * alpha) : 1280;
  x = call(conv2d({ filters: last, kernelSize: 1, useBias: false, name: 'Conv_1' }), x);
  x = call(relu6('out_relu'), call(bn('Conv_1_bn'), x));
  if (!ctx.args.includeTop) return poolFeatures(x, ctx);
  return poolAndClassify(x, ctx);
}

/** keras.applications.MobileNetV2. */
export function mobilenetV2(args: MobileNetV2Args = {}): Promise<tfl.LayersModel> {
  const alpha = args.alpha ?? 1.0;
  if (!(alpha > 0)) throw new TransferkitError(`MobileNetV2 alpha must be positive; got ${alpha}`);
  return buildApplication(
    MOBILENET_V2,
    args,
    (ctx) => graph(ctx, alpha),
    widthAndSizeHooks(MOBILENET_V2, args.inputShape, { alpha, alphas: ALPHAS, sizes: SIZES, namePrefix: 'mobilenetv2' }),
  );
}
