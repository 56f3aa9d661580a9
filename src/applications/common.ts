import * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessMode } from '../data/preprocess.js';
import { loadApplicationWeights } from '../weights/apply.js';
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
  const variant = hooks.weightsVariant?.(args);
  const input = args.inputTensor ?? tfl.input({ shape: args.inputShape, name: 'input_layer' });
  const output = graph({ args, input, names: new LayerNamer() });
  const model = tfl.model({ inputs: input, outputs: output, name: hooks.modelName?.(args) ?? spec.id });
  infos.set(model, { spec, args });
  await loadApplicationWeights(model, spec.name, spec.weights, args, variant);
  return model;
}

/** Keras's ending for a headless model: optional global average or max pooling of the last feature map. */
export function poolFeatures(x: tfl.SymbolicTensor, ctx: BuildContext): tfl.SymbolicTensor {
  if (ctx.args.pooling === 'avg') {
    return tfl.layers.globalAveragePooling2d({ name: ctx.names.next('global_average_pooling2d') }).apply(x) as tfl.SymbolicTensor;
  }
  if (ctx.args.pooling === 'max') {
    return tfl.layers.globalMaxPooling2d({ name: ctx.names.next('global_max_pooling2d') }).apply(x) as tfl.SymbolicTensor;
  }
  return x;
}

export type Activation = NonNullable<Parameters<typeof tfl.layers.dense>[0]['activation']>;

/** tfjs spells "no activation" as 'linear'. */
export function activationName(activation: string | null): Activation {
  return (activation ?? 'linear') as Activation;
}
