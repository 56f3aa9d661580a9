import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../errors.js';
import { fileExists } from '../util/file-exists.js';

/** Height, width, channels; null height and width take any size (Keras's `input_shape`). */
export type InputShape = [number | null, number | null, number];
/** The global pooling `includeTop: false` ends with (Keras's `pooling`). */
export type Pooling = 'avg' | 'max';

/** The options every `applications.*` builder takes, with Keras's meanings and defaults. */
export interface ApplicationArgs {
  /** `'imagenet'` (default), `null` for random initialisation, or the path of a Keras .h5 weights file. */
  weights?: 'imagenet' | null | string;
  /** Keep the ImageNet classifier on top (default true). */
  includeTop?: boolean;
  /** Height, width, channels (channels last). */
  inputShape?: InputShape;
  /** A symbolic tensor to use as the model's input instead of a new Input layer. */
  inputTensor?: tfl.SymbolicTensor;
  /** Global pooling of the last feature map when `includeTop` is false. */
  pooling?: Pooling | null;
  /** Number of classes of the classifier on top (default 1000). */
  classes?: number;
  /** Activation of the last layer when `includeTop` (default 'softmax'); `null` gives logits. */
  classifierActivation?: string | null;
  /**
   * transferkit's own: `false` leaves the kernels at zero instead of drawing random initial values, for a model
   * that is only summarised or counted (default true; no draw either when `weights` loads values over them).
   */
  initialize?: boolean;
}

/** What a model family needs to know to check its arguments, as in Keras's `obtain_input_shape`. */
export interface InputRules {
  /** Model name used in messages, e.g. 'VGG16'. */
  name: string;
  defaultSize: number;
  minSize: number;
}

/** The arguments after Keras's checks, with every default filled in. */
export interface ResolvedArgs {
  weights: 'imagenet' | null | string;
  includeTop: boolean;
  inputShape: InputShape;
  inputTensor?: tfl.SymbolicTensor;
  pooling: Pooling | null;
  classes: number;
  classifierActivation: string | null;
}

const fmt = (shape: ReadonlyArray<number | null>) => `[${shape.map((d) => (d == null ? 'null' : d)).join(', ')}]`;

function checkWeights(weights: unknown): void {
  if (weights === 'imagenet' || weights === null) return;
  if (typeof weights === 'string' && fileExists(weights)) return;
  throw new TransferkitError(
    `weights must be 'imagenet', null (random initialisation) or the path of a weights file; got ${JSON.stringify(weights)}` +
      (typeof weights === 'string' ? ' (no such file)' : ''),
  );
}

/** Keras's `obtain_input_shape` for channels-last data. */
function obtainInputShape(
  inputShape: ReadonlyArray<number | null> | undefined,
  rules: InputRules,
  requireFlatten: boolean,
  weights: string | null,
): InputShape {
  const channels = weights !== 'imagenet' && inputShape?.length === 3 ? (inputShape[2] ?? 3) : 3;
  const defaultShape: InputShape = [rules.defaultSize, rules.defaultSize, channels];
  if (weights === 'imagenet' && requireFlatten) {
    if (inputShape !== undefined && fmt(inputShape) !== fmt(defaultShape)) {
      throw new TransferkitError(
        `${rules.name} with includeTop and 'imagenet' weights needs inputShape ${fmt(defaultShape)}; got ${fmt(inputShape)} (use includeTop: false for other sizes)`,
      );
    }
    return defaultShape;
  }
  let shape: ReadonlyArray<number | null>;
  if (inputShape !== undefined) {
    if (inputShape.length !== 3) {
      throw new TransferkitError(`inputShape must have three entries [height, width, channels]; got ${fmt(inputShape)}`);
    }
    for (const d of inputShape) {
      if (d !== null && !(Number.isInteger(d) && d > 0)) {
        throw new TransferkitError(`inputShape entries must be positive integers; got ${fmt(inputShape)}`);
      }
    }
    if (inputShape[2] !== 3 && weights === 'imagenet') {
      throw new TransferkitError(`${rules.name} with 'imagenet' weights needs 3 input channels; got inputShape ${fmt(inputShape)}`);
    }
    if ((inputShape[0] !== null && inputShape[0] < rules.minSize) || (inputShape[1] !== null && inputShape[1] < rules.minSize)) {
      throw new TransferkitError(`${rules.name} needs an input of at least ${rules.minSize}x${rules.minSize}; got inputShape ${fmt(inputShape)}`);
    }
    shape = inputShape;
  } else {
    shape = requireFlatten ? defaultShape : [null, null, 3];
  }
  if (requireFlatten && shape.includes(null)) {
    throw new TransferkitError(`${rules.name} with includeTop needs a static inputShape; got ${fmt(shape)}`);
  }
  return [shape[0], shape[1], shape[2] as number];
}

/** Keras's `validate_activation`: a pretrained classifier only makes sense with softmax or logits. */
function validateActivation(activation: string | null, weights: string | null): void {
  if (weights === null || activation === null || activation === 'softmax') return;
  throw new TransferkitError(`classifierActivation must be 'softmax' or null with pretrained weights and includeTop; got '${activation}'`);
}

/**
 * Checks builder arguments in Keras's order (weights, classes, input shape, pooling, classifier activation) and
 * fills in the defaults. Every model family calls this one helper, so the rules read the same everywhere.
 */
export function resolveApplicationArgs(args: ApplicationArgs, rules: InputRules): ResolvedArgs {
  const weights = args.weights === undefined ? 'imagenet' : args.weights;
  const includeTop = args.includeTop ?? true;
  const classes = args.classes ?? 1000;
  const classifierActivation = args.classifierActivation === undefined ? 'softmax' : args.classifierActivation;
  const pooling = args.pooling ?? null;
  checkWeights(weights);
  if (!(Number.isInteger(classes) && classes > 0)) {
    throw new TransferkitError(`classes must be a positive integer; got ${classes}`);
  }
  if (weights === 'imagenet' && includeTop && classes !== 1000) {
    throw new TransferkitError(`${rules.name} with 'imagenet' weights and includeTop needs classes = 1000; got ${classes}`);
  }
  const given = args.inputShape ?? (args.inputTensor ? (args.inputTensor.shape.slice(1) as InputShape) : undefined);
  const inputShape = obtainInputShape(given, rules, includeTop, weights);
  if (pooling !== null && pooling !== 'avg' && pooling !== 'max') {
    throw new TransferkitError(`pooling must be 'avg', 'max' or null; got ${JSON.stringify(pooling)}`);
  }
  if (includeTop) validateActivation(classifierActivation, weights);
  return { weights, includeTop, inputShape, inputTensor: args.inputTensor, pooling, classes, classifierActivation };
}
