// MobileNet v1 (Howard et al., 2017): depthwise-separable convolutions with a width multiplier alpha, layer for
// layer as keras.applications builds it.
import { tfl } from '../tfjs.js';
import { TransferkitError } from '../errors.js';
import { KERAS_APPLICATIONS_URL, type WeightsEntry } from '../weights/remote.js';
import {
  type ApplicationSpec,
  type BuildContext,
  activationName,
  buildApplication,
  conv2d,
  depthwiseConv2d,
  poolFeatures,
  widthAndSizeHooks,
} from './common.js';
import type { ApplicationArgs } from './inputs.js';

type Sym = tfl.SymbolicTensor;

export interface MobileNetArgs extends ApplicationArgs {
  /** Width multiplier: filters in every layer scale by alpha (ImageNet weights: 0.25, 0.5, 0.75, 1.0). */
  alpha?: number;
  /** Channel multiplier of the depthwise convolutions (ImageNet weights: 1). */
  depthMultiplier?: number;
  /** Dropout before the classifier (default 0.001). */
  dropout?: number;
}

const ALPHAS = [0.25, 0.5, 0.75, 1.0];
const SIZES = [128, 160, 192, 224];
const ALPHA_TEXT: Record<number, string> = { 0.25: '2_5', 0.5: '5_0', 0.75: '7_5', 1.0: '1_0' };

/** sha256 of the files seen by transferkit (Keras publishes no hash for MobileNet). */
const SEEN_SHA256: Record<string, string> = {
  'mobilenet_2_5_224_tf_no_top.h5': 'dbdb03ee2a22fd895301636cd328b234bb3a9952358f436d82f46b81e0d5b0bf',
};
const KNOWN_PARAMS: Record<string, number> = {
  'mobilenet_2_5_224_tf_no_top.h5': 218_544,
  'mobilenet_1_0_224_tf.h5': 4_253_864,
};

function mobilenetWeights(): WeightsEntry[] {
  return ALPHAS.flatMap((alpha) =>
    SIZES.flatMap((size) =>
      [true, false].map((includeTop) => {
        const file = `mobilenet_${ALPHA_TEXT[alpha]}_${size}_tf${includeTop ? '' : '_no_top'}.h5`;
        return {
          model: 'mobilenet',
          includeTop,
          file,
          url: `${KERAS_APPLICATIONS_URL}/mobilenet/${file}`,
          variant: { alpha, size },
          ...(SEEN_SHA256[file] ? { sha256: SEEN_SHA256[file] } : {}),
          ...(KNOWN_PARAMS[file] ? { params: KNOWN_PARAMS[file] } : {}),
        };
      }),
    ),
  );
}

export const MOBILENET: ApplicationSpec = {
  id: 'mobilenet',
  name: 'MobileNet',
  takesAlpha: true,
  defaultSize: 224,
  minSize: 32,
  preprocessing: 'tf',
  weights: mobilenetWeights(),
  blockOf(n) {
    if (n.startsWith('conv1')) return 'conv1';
    const m = /^conv_(?:pad|dw|pw)_(\d+)/.exec(n);
    return m ? `block_${m[1]}` : null;
  },
};

/** Conv 3×3/2 → BN → ReLU6: the stem. */
function convBlock(x: Sym, filters: number, alpha: number): Sym {
  x = conv2d({ filters: Math.trunc(filters * alpha), kernelSize: 3, padding: 'same', useBias: false, strides: 2, name: 'conv1' }).apply(x) as Sym;
  x = tfl.layers.batchNormalization({ axis: -1, name: 'conv1_bn' }).apply(x) as Sym;
  return tfl.layers.reLU({ maxValue: 6, name: 'conv1_relu' }).apply(x) as Sym;
}

/** Depthwise 3×3 → BN → ReLU6 → pointwise 1×1 → BN → ReLU6; a strided block pads bottom/right first. */
function depthwiseBlock(x: Sym, filters: number, alpha: number, depthMultiplier: number, strides: 1 | 2, id: number): Sym {
  if (strides === 2)
    x = tfl.layers
      .zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
        name: `conv_pad_${id}`,
      })
      .apply(x) as Sym;
  x = depthwiseConv2d({ kernelSize: 3, padding: strides === 1 ? 'same' : 'valid', depthMultiplier, strides, useBias: false, name: `conv_dw_${id}` }).apply(
    x,
  ) as Sym;
  x = tfl.layers.batchNormalization({ axis: -1, name: `conv_dw_${id}_bn` }).apply(x) as Sym;
  x = tfl.layers.reLU({ maxValue: 6, name: `conv_dw_${id}_relu` }).apply(x) as Sym;
  x = conv2d({ filters: Math.trunc(filters * alpha), kernelSize: 1, padding: 'same', useBias: false, name: `conv_pw_${id}` }).apply(x) as Sym;
  x = tfl.layers.batchNormalization({ axis: -1, name: `conv_pw_${id}_bn` }).apply(x) as Sym;
  return tfl.layers.reLU({ maxValue: 6, name: `conv_pw_${id}_relu` }).apply(x) as Sym;
}

/** [pointwise filters, stride] of blocks 1–13, from the paper's Table 1. */
const BLOCKS: Array<[number, 1 | 2]> = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

function mobilenetGraph(ctx: BuildContext, alpha: number, depthMultiplier: number, dropout: number): Sym {
  let x = convBlock(ctx.input, 32, alpha);
  BLOCKS.forEach(([filters, strides], i) => {
    x = depthwiseBlock(x, filters, alpha, depthMultiplier, strides, i + 1);
  });
  if (!ctx.args.includeTop) return poolFeatures(x, ctx);
  const channels = Math.trunc(1024 * alpha);
  // Keras's GlobalAveragePooling2D(keepdims=True), spelled as pooling + reshape (tfjs has no keepdims).
  x = tfl.layers.globalAveragePooling2d({ name: ctx.names.next('global_average_pooling2d') }).apply(x) as Sym;
  x = tfl.layers.reshape({ targetShape: [1, 1, channels], name: 'reshape_1' }).apply(x) as Sym;
  x = tfl.layers.dropout({ rate: dropout, name: 'dropout' }).apply(x) as Sym;
  x = conv2d({ filters: ctx.args.classes, kernelSize: 1, padding: 'same', name: 'conv_preds' }).apply(x) as Sym;
  x = tfl.layers.reshape({ targetShape: [ctx.args.classes], name: 'reshape_2' }).apply(x) as Sym;
  return tfl.layers.activation({ activation: activationName(ctx.args.classifierActivation), name: 'predictions' }).apply(x) as Sym;
}

/** keras.applications.MobileNet. */
export function mobilenet(args: MobileNetArgs = {}): Promise<tfl.LayersModel> {
  const alpha = args.alpha ?? 1.0;
  const depthMultiplier = args.depthMultiplier ?? 1;
  const dropout = args.dropout ?? 1e-3;
  if (!(alpha > 0)) throw new TransferkitError(`MobileNet alpha must be positive; got ${alpha}`);
  if (!(Number.isInteger(depthMultiplier) && depthMultiplier > 0))
    throw new TransferkitError(`MobileNet depthMultiplier must be a positive integer; got ${depthMultiplier}`);
  return buildApplication(
    MOBILENET,
    args,
    (ctx) => mobilenetGraph(ctx, alpha, depthMultiplier, dropout),
    widthAndSizeHooks(MOBILENET, args.inputShape, {
      alpha,
      alphas: ALPHAS,
      sizes: SIZES,
      namePrefix: 'mobilenet',
      check() {
        if (depthMultiplier !== 1) throw new TransferkitError(`MobileNet with 'imagenet' weights needs depthMultiplier 1; got ${depthMultiplier}`);
      },
    }),
  );
}
