import { DEFAULT_AUGMENT } from '../data/augment.js';
import { UsageError } from '../errors.js';
import type { TrainOptions } from '../train/fit/fit.js';
import type { ValuesOf } from './flag.js';
import type { TRAIN } from './flags/train.js';
import { dicomFrom } from './flags/dicom.js';
import { baseFrom } from './model-options.js';
import { progress } from './progress.js';

/** The values of every training flag (train takes them all; compare, lr-find, duplicates, label-issues some). */
export type TrainValues = ValuesOf<(typeof TRAIN)[number]>;

/** The training flags as library options (shared by train, compare, lr-find and the data-quality scans). */
export function trainOptionsFrom(values: TrainValues & { features?: string }): TrainOptions {
  if (!values.base && !values.from && !values.features) throw new UsageError('--base MODEL (or --from a saved model) is required');
  const { spec, base } = baseFrom(values);
  // On an ONNX base, --unfreeze-last-blocks / --unfreeze-from imply fine-tuning.
  const strategy = base?.strategy ?? values.strategy ?? (values.from ? 'fine-tune' : 'feature-extraction');
  const { schedule, loss, pooling } = values;
  return {
    ...(base?.kind === 'onnx' ? { onnxBase: base.onnx } : {}),
    base: spec.base ?? 'saved',
    alpha: spec.alpha,
    weights: spec.weights,
    inputSize: spec.inputSize,
    strategy,
    unfreezeFrom: spec.unfreezeFrom,
    head: values.head,
    epochs: values.epochs,
    fineTuneEpochs: values['fine-tune-epochs'],
    maxEpochs: values['max-epochs'],
    batchSize: values['batch-size'],
    learningRate: values['learning-rate'],
    ...(schedule ? { schedule } : {}),
    warmupSteps: values.warmup,
    lrDecay: values['lr-decay'],
    classWeight: values['class-weight'],
    threshold: values.threshold,
    optimizer: values.optimizer ?? 'adam',
    l2: values.l2,
    ...(values.standardize ? { standardize: values.standardize === 'on' } : {}),
    ...(values.refit ? { refit: true } : {}),
    validationSplit: values['validation-split'],
    seed: values.seed,
    earlyStoppingPatience: values['early-stopping'],
    restoreBest: Boolean(values['restore-best']),
    reduceLrPatience: values['reduce-lr-on-plateau'],
    engine: values.engine,
    stepsPerExecution: values['steps-per-execution'],
    augment: values['augment-spec'] ?? (values.augment ? DEFAULT_AUGMENT : undefined),
    featureCache: values['feature-cache'] ?? 'memory',
    ...(pooling !== undefined ? { pooling } : {}),
    bands: values.bands,
    bandScale: values['band-scale'],
    bandAdaptation: values['band-adaptation'],
    dicom: dicomFrom(values),
    grayToRgb: values['gray-to-rgb'],
    ...(loss ? { regressionLoss: loss } : {}),
    onEvent: progress(),
  };
}
