// ConvNeXt Tiny, Small, Base, Large and XLarge (Liu et al., 2022): a patchify stem, stages of depthwise 7×7 →
// LayerNormalization → pointwise MLP (Dense on the channels) with GELU → LayerScale residual blocks, and
// LayerNormalization + strided 2×2 convolutions between stages, as keras.applications builds them.
//
// Two differences from Keras's graph, both without effect on the values: Keras wraps the stem and each
// downsampling pair in a nested `Sequential` (`convnext_tiny_stem`, `…_downsampling_block_0`); here their
// layers sit in the main graph under the same names (a Keras 2 .h5 file's nested groups are read per inner
// layer, a Keras 3 .weights.h5 file's `layers/sequential_k/layers/…` paths through `kerasLayout`). Keras's depthwise convolution is `Conv2D(groups=C)`, kernel (7, 7, 1, C); here a DepthwiseConv2D
// with bias, kernel (7, 7, C, 1) — the same numbers in the same memory order.
import { tfl } from '../tfjs.js';
import { KERAS_APPLICATIONS_URL, type WeightsEntry } from '../weights/remote.js';
import {
  type ApplicationSpec,
  type BuildContext,
  type Sym,
  activationName,
  buildApplication,
  call,
  conv2d,
  dense,
  depthwiseConv2d,
  poolFeatures,
} from './common.js';
import type { ApplicationArgs } from './inputs.js';
import { LayerScale, Normalization } from './layers.js';

export interface ConvNeXtArgs extends ApplicationArgs {
  /** Normalise [0, 255] inputs with ImageNet's mean and variance inside the model (default true). */
  includePreprocessing?: boolean;
}

type Size = 'tiny' | 'small' | 'base' | 'large' | 'xlarge';

interface Config {
  depths: [number, number, number, number];
  dims: [number, number, number, number];
  /** Keras's WEIGHTS_HASHES (sha256; top, no top). */
  sha256: [string, string];
  /** Keras 3.15.1's count_params() (top, no top; default size, 1000 classes). */
  params: [number, number];
}

const CONFIGS: Record<Size, Config> = {
  tiny: {
    depths: [3, 3, 9, 3],
    dims: [96, 192, 384, 768],
    sha256: ['8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff', 'd547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1'],
    params: [28_589_128, 27_820_128],
  },
  small: {
    depths: [3, 3, 27, 3],
    dims: [96, 192, 384, 768],
    sha256: ['ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c', '6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab'],
    params: [50_223_688, 49_454_688],
  },
  base: {
    depths: [3, 3, 27, 3],
    dims: [128, 256, 512, 1024],
    sha256: ['52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6', '40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45'],
    params: [88_591_464, 87_566_464],
  },
  large: {
    depths: [3, 3, 27, 3],
    dims: [192, 384, 768, 1536],
    sha256: ['070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6', '96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd'],
    params: [197_767_336, 196_230_336],
  },
  xlarge: {
    depths: [3, 3, 27, 3],
    dims: [256, 512, 1024, 2048],
    sha256: ['c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee', 'de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05'],
    params: [350_196_968, 348_147_968],
  },
};

/** `<model name>.h5` and `<model name>_notop.h5` under keras-applications/convnext/, with Keras's sha256. */
function weights(id: string, c: Config): WeightsEntry[] {
  return [true, false].map((includeTop, i) => {
    const file = `${id}${includeTop ? '' : '_notop'}.h5`;
    return { model: id, includeTop, file, url: `${KERAS_APPLICATIONS_URL}/convnext/${file}`, sha256: c.sha256[i], params: c.params[i] };
  });
}

/** The stem, each `downsampling_block_N` and `stage_N_block_M`, and the head. */
function blockOf(id: string): ApplicationSpec['blockOf'] {
  return (n) => {
    if (!n.startsWith(`${id}_`)) return null;
    const rest = n.slice(id.length + 1);
    const downsampling = /^downsampling_(?:layernorm|conv)_(\d)$/.exec(rest);
    if (downsampling) return `downsampling_block_${downsampling[1]}`;
    return /^(stage_\d_block_\d+)_/.exec(rest)?.[1] ?? (/^(prestem|stem)_/.test(rest) ? 'stem' : /^head_/.test(rest) ? 'head' : null);
  };
}

/** Keras's Sequential stem and `downsampling_block_N`s, and its `Conv2D(groups=C)` for the depthwise convolutions. */
function kerasLayout(id: string): ApplicationSpec['kerasLayout'] {
  return {
    nestedIn: (n) => /^(stem|downsampling)_/.exec(n.slice(id.length + 1)) && blockOf(id)(n),
    kerasClass: (layer) => (layer.getClassName() === 'DepthwiseConv2D' ? 'Conv2D' : undefined),
  };
}

const spec = (size: Size): ApplicationSpec => {
  const id = `convnext_${size}`;
  return {
    id,
    name: `ConvNeXt${size === 'xlarge' ? 'XLarge' : size[0].toUpperCase() + size.slice(1)}`,
    defaultSize: 224,
    minSize: 32,
    // The model normalises its own [0, 255] inputs (include_preprocessing); without it the builder records 'torch'.
    preprocessing: 'none',
    weights: weights(id, CONFIGS[size]),
    blockOf: blockOf(id),
    kerasLayout: kerasLayout(id),
  };
};

export const CONVNEXT_TINY = spec('tiny');
export const CONVNEXT_SMALL = spec('small');
export const CONVNEXT_BASE = spec('base');
export const CONVNEXT_LARGE = spec('large');
export const CONVNEXT_XLARGE = spec('xlarge');

const layerNorm = (name: string) => tfl.layers.layerNormalization({ epsilon: 1e-6, name });

/** Keras's `ConvNeXtBlock` (drop path rate 0, so its identity `Activation`; layer scale 1e-6). */
function block(inputs: Sym, dim: number, name: string, ctx: BuildContext): Sym {
  let x = call(depthwiseConv2d({ kernelSize: 7, padding: 'same', useBias: true, name: `${name}_depthwise_conv` }), inputs);
  x = call(layerNorm(`${name}_layernorm`), x);
  x = call(dense({ units: 4 * dim, name: `${name}_pointwise_conv_1` }), x);
  x = call(tfl.layers.activation({ activation: 'gelu', name: `${name}_gelu` }), x);
  x = call(dense({ units: dim, name: `${name}_pointwise_conv_2` }), x);
  x = call(new LayerScale({ initValues: 1e-6, projectionDim: dim, name: `${name}_layer_scale` }), x);
  x = call(tfl.layers.activation({ activation: 'linear', name: `${name}_identity` }), x);
  // Keras's `inputs + layer(x)`: an operation Keras names by its counter.
  return call(tfl.layers.add({ name: ctx.names.next('add') }), [inputs, x]);
}

function graph(ctx: BuildContext, id: string, c: Config, includePreprocessing: boolean): Sym {
  let x = ctx.input;
  if (includePreprocessing && ctx.args.inputShape[2] === 3) {
    x = call(
      new Normalization({
        mean: [0.485 * 255, 0.456 * 255, 0.406 * 255],
        variance: [(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
        name: `${id}_prestem_normalization`,
      }),
      x,
    );
  }
  x = call(conv2d({ filters: c.dims[0], kernelSize: 4, strides: 4, name: `${id}_stem_conv` }), x);
  x = call(layerNorm(`${id}_stem_layernorm`), x);
  for (let i = 0; i < 4; i++) {
    if (i > 0) {
      x = call(layerNorm(`${id}_downsampling_layernorm_${i - 1}`), x);
      x = call(conv2d({ filters: c.dims[i], kernelSize: 2, strides: 2, name: `${id}_downsampling_conv_${i - 1}` }), x);
    }
    for (let j = 0; j < c.depths[i]; j++) x = block(x, c.dims[i], `${id}_stage_${i}_block_${j}`, ctx);
  }
  if (ctx.args.includeTop) {
    x = call(tfl.layers.globalAveragePooling2d({ name: `${id}_head_gap` }), x);
    x = call(layerNorm(`${id}_head_layernorm`), x);
    return call(dense({ units: ctx.args.classes, activation: activationName(ctx.args.classifierActivation), name: `${id}_head_dense` }), x);
  }
  // Keras normalises the features without top too, pooled or not.
  x = poolFeatures(x, ctx);
  return call(layerNorm(ctx.names.next('layer_normalization')), x);
}

const builder =
  (s: ApplicationSpec, size: Size) =>
  (args: ConvNeXtArgs = {}) => {
    const { includePreprocessing = true, ...rest } = args;
    const used = includePreprocessing ? s : { ...s, preprocessing: 'torch' as const };
    return buildApplication(used, rest, (ctx) => graph(ctx, s.id, CONFIGS[size], includePreprocessing));
  };

/** keras.applications.ConvNeXtTiny … ConvNeXtXLarge. */
export const convnextTiny = builder(CONVNEXT_TINY, 'tiny');
/** keras.applications.ConvNeXtSmall. */
export const convnextSmall = builder(CONVNEXT_SMALL, 'small');
/** keras.applications.ConvNeXtBase. */
export const convnextBase = builder(CONVNEXT_BASE, 'base');
/** keras.applications.ConvNeXtLarge. */
export const convnextLarge = builder(CONVNEXT_LARGE, 'large');
/** keras.applications.ConvNeXtXLarge. */
export const convnextXLarge = builder(CONVNEXT_XLARGE, 'xlarge');
