import { initBackend } from '../engine/backend.js';
import { tfl } from '../tfjs.js';
import type { PreprocessMode } from '../data/preprocess.js';
import { TransferkitError } from '../errors.js';
import { loadApplicationWeights } from '../weights/apply.js';
import type { KerasLayout } from '../weights/load.js';
import type { WeightsEntry } from '../weights/remote.js';
import { LayerNamer } from '../util/names.js';
import { type ApplicationArgs, type InputRules, type ResolvedArgs, resolveApplicationArgs } from './inputs.js';

/** What a model family says about itself once; builders, weights and the data pipeline all read it from here. */
export interface ApplicationSpec extends InputRules {
  /** The id used by the API and the CLI, e.g. 'vgg16'. */
  id: string;
  preprocessing: PreprocessMode;
  /** Keras's published weight files for this family (url, hash, top or not, variant). */
  weights: WeightsEntry[];
  /**
   * The block a layer belongs to, from its Keras name (e.g. 'block5' for 'block5_conv1'); null for a layer
   * named only by Keras's counters, which joins the next named block. Blocks are the fine-tune cut points.
   */
  blockOf(layerName: string): string | null;
  /** Whether a block ends at its named layer (Inception's `mixedN` concatenations) rather than starting there. */
  blockNamedAtEnd?: boolean;
  /** Whether the builder takes a width multiplier `alpha` (the MobileNets). */
  takesAlpha?: boolean;
  /** Where Keras 3 builds the family otherwise (nested Sequentials, other classes): its `.weights.h5` paths. */
  kerasLayout?: KerasLayout;
}

/** What transferkit remembers about a model built by `applications.*`. */
export interface ApplicationInfo {
  spec: ApplicationSpec;
  args: ResolvedArgs;
}

const infos = new WeakMap<tfl.LayersModel, ApplicationInfo>();

/** The family and arguments a model was built with, or undefined for a model not built by `applications.*`. */
export function applicationInfo(model: tfl.LayersModel): ApplicationInfo | undefined {
  return infos.get(model);
}

/** The pieces every family's graph needs, after the shared argument checks. */
export interface BuildContext {
  args: ResolvedArgs;
  input: tfl.SymbolicTensor;
  /** Keras-style automatic names for layers that Keras leaves unnamed. */
  names: LayerNamer;
}

/** What a family with size- or width-dependent rules adds to the shared build. */
export interface BuildHooks {
  /** Input rules when they depend on the arguments (MobileNet's default size follows the input shape). */
  rules?: InputRules;
  /** Family-specific checks after the shared ones; returns the options that select the weights file. */
  weightsVariant?(args: ResolvedArgs): Record<string, number>;
  /** The model's name when it depends on the arguments (Keras's `mobilenet_0.25_224`). */
  modelName?(args: ResolvedArgs): string;
}

/**
 * Builds a model of one family: checks the arguments, makes the input, lets `graph` add the layers, names the
 * model as Keras does, and loads the weights asked for.
 */
export async function buildApplication(
  spec: ApplicationSpec,
  userArgs: ApplicationArgs,
  graph: (ctx: BuildContext) => tfl.SymbolicTensor,
  hooks: BuildHooks = {},
): Promise<tfl.LayersModel> {
  const args = resolveApplicationArgs(userArgs, hooks.rules ?? spec);
  // Building draws initial weights: a backend must be ready (wasm, else cpu), as a user would expect.
  await initBackend();
  const variant = hooks.weightsVariant?.(args);
  const input = args.inputTensor ?? tfl.input({ shape: args.inputShape, name: 'input_layer' });
  drawKernels = args.weights === null && userArgs.initialize !== false;
  let output: tfl.SymbolicTensor;
  try {
    output = graph({ args, input, names: new LayerNamer() });
  } finally {
    drawKernels = true;
  }
  const model = tfl.model({ inputs: input, outputs: output, name: hooks.modelName?.(args) ?? spec.id });
  infos.set(model, { spec, args });
  await loadApplicationWeights(model, spec.name, spec.weights, args, variant, spec.kerasLayout);
  return model;
}

/** Keras's ending for a headless model: optional global average or max pooling of the last feature map. */
export function poolFeatures(x: tfl.SymbolicTensor, ctx: BuildContext, names: { avg?: string; max?: string } = {}): tfl.SymbolicTensor {
  if (ctx.args.pooling === 'avg') {
    return tfl.layers.globalAveragePooling2d({ name: names.avg ?? ctx.names.next('global_average_pooling2d') }).apply(x) as tfl.SymbolicTensor;
  }
  if (ctx.args.pooling === 'max') {
    return tfl.layers.globalMaxPooling2d({ name: names.max ?? ctx.names.next('global_max_pooling2d') }).apply(x) as tfl.SymbolicTensor;
  }
  return x;
}

export type Activation = NonNullable<Parameters<typeof tfl.layers.dense>[0]['activation']>;

/** tfjs spells "no activation" as 'linear'. */
export function activationName(activation: string | null): Activation {
  return (activation ?? 'linear') as Activation;
}

export type Sym = tfl.SymbolicTensor;

/** Applies a layer to one or more symbolic tensors. */
export function call(layer: tfl.layers.Layer, x: Sym | Sym[]): Sym {
  return layer.apply(x) as Sym;
}

// Layer factories with Keras's default initialisers: tfjs defaults kernels to glorot_normal, Keras to
// glorot_uniform, and the weights' statistics at random initialisation should be Keras's.
type Conv2DArgs = Parameters<typeof tfl.layers.conv2d>[0];
type DenseArgs = Parameters<typeof tfl.layers.dense>[0];
type DepthwiseArgs = Parameters<typeof tfl.layers.depthwiseConv2d>[0];
type SeparableArgs = Parameters<typeof tfl.layers.separableConv2d>[0];

// While a model whose initial values are never read is built (weights loaded right after, or only counted),
// kernels start at zero: drawing VGG16's 138M random values costs two seconds and is thrown away.
let drawKernels = true;
const zerosUnlessDrawn = <K extends string>(...keys: K[]) => (drawKernels ? {} : (Object.fromEntries(keys.map((k) => [k, 'zeros'])) as Record<K, 'zeros'>));

export const conv2d = (args: Conv2DArgs) => tfl.layers.conv2d({ kernelInitializer: 'glorotUniform', ...args, ...zerosUnlessDrawn('kernelInitializer') });
export const dense = (args: DenseArgs) => tfl.layers.dense({ kernelInitializer: 'glorotUniform', ...args, ...zerosUnlessDrawn('kernelInitializer') });
export const depthwiseConv2d = (args: DepthwiseArgs) =>
  tfl.layers.depthwiseConv2d({ depthwiseInitializer: 'glorotUniform', ...args, ...zerosUnlessDrawn('depthwiseInitializer') });
export const separableConv2d = (args: SeparableArgs) =>
  tfl.layers.separableConv2d({
    depthwiseInitializer: 'glorotUniform',
    pointwiseInitializer: 'glorotUniform',
    ...args,
    ...zerosUnlessDrawn('depthwiseInitializer', 'pointwiseInitializer'),
  });

/** Keras's `correct_pad`: the zero padding that makes a strided 'valid' conv match TF's 'same' placement. */
export function correctPad(x: Sym, kernel: number): [[number, number], [number, number]] {
  const [h, w] = x.shape.slice(1, 3);
  const adjust = h === null || w === null ? [1, 1] : [1 - (h % 2), 1 - (w % 2)];
  const c = Math.floor(kernel / 2);
  return [
    [c - adjust[0], c],
    [c - adjust[1], c],
  ];
}

/** The classifier every family but VGG and MobileNet ends with: global average pooling and a dense layer. */
export function poolAndClassify(
  x: Sym,
  ctx: BuildContext,
  options: { poolName?: string; dropout?: number; kernelInitializer?: DenseArgs['kernelInitializer'] } = {},
): Sym {
  x = call(tfl.layers.globalAveragePooling2d({ name: options.poolName ?? ctx.names.next('global_average_pooling2d') }), x);
  if (options.dropout) x = call(tfl.layers.dropout({ rate: options.dropout, name: 'top_dropout' }), x);
  return call(
    dense({
      units: ctx.args.classes,
      activation: activationName(ctx.args.classifierActivation),
      name: 'predictions',
      ...(options.kernelInitializer ? { kernelInitializer: options.kernelInitializer } : {}),
    }),
    x,
  );
}

/** Options of the MobileNet families, whose ImageNet weights exist per width and per square input size. */
export interface WidthAndSize {
  alpha: number;
  alphas: number[];
  sizes: number[];
  /** Keras's model name prefix: `mobilenet` gives `mobilenet_0.25_224`. */
  namePrefix: string;
  /** Further checks for ImageNet weights (MobileNet's depth multiplier). */
  check?(): void;
}

/**
 * Keras's rules for those families: the default size follows a square input of a published size, ImageNet
 * weights need a published alpha, and any other input size loads the 224 weights with a warning.
 */
export function widthAndSizeHooks(spec: ApplicationSpec, inputShape: ApplicationArgs['inputShape'], o: WidthAndSize): BuildHooks {
  const published = (rows: number | null, cols: number | null): rows is number => rows !== null && rows === cols && o.sizes.includes(rows);
  const defaultSize = inputShape && published(inputShape[0], inputShape[1]) ? inputShape[0] : 224;
  return {
    rules: { ...spec, defaultSize: defaultSize as number },
    weightsVariant(a): Record<string, number> {
      if (a.weights !== 'imagenet') return {};
      o.check?.();
      if (!o.alphas.includes(o.alpha)) {
        throw new TransferkitError(`${spec.name} with 'imagenet' weights needs alpha in ${o.alphas.join(', ')}; got ${o.alpha}`);
      }
      const [rows, cols] = a.inputShape;
      if (published(rows, cols)) return { alpha: o.alpha, size: rows };
      const given = rows === null ? 'size is unspecified' : `${rows}x${cols} is not one of the square sizes ${o.sizes.join(', ')}`;
      process.stderr.write(`transferkit: ${spec.name} input ${given}; loading the ImageNet weights for 224x224\n`);
      return { alpha: o.alpha, size: 224 };
    },
    modelName: (a) => `${o.namePrefix}_${o.alpha.toFixed(2)}_${a.inputShape[0] ?? 224}`,
  };
}
