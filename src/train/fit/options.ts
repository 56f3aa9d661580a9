// What a training run takes (by concern: data, model, schedule, stopping, engine), what it reports while it
// runs, and what it returns.
import type * as tfl from '@tensorflow/tfjs-layers';
import type { AugmentSpec } from '../../data/augment.js';
import type { DicomSettings } from '../../data/decode.js';
import type { LabelledFile, SkippedFile } from '../../data/folders.js';
import type { OnnxBase } from '../../engine/onnx-base.js';
import type { EngineName } from '../../engine/predictor.js';
import type { OnnxBaseRecord } from '../model/onnx-base.js';
import type { FeatureStore } from '../features/store.js';
import type { SavedModel } from '../saved/saved-model.js';
import type { RasterOptions, RasterPlan } from '../scene/rasters.js';
import type { TrainCallback } from './callbacks.js';
import type { ScheduleName } from './schedule.js';
import type { ClassificationReport, EpochLog, Strategy, Task, TrainEvent } from '../shapes.js';

export type { EpochLog, Task, TrainEvent } from '../shapes.js';

/** What `trainImageClassifier` takes instead of a dataset folder and the base's own extraction. */
export interface PrecomputedFeatures {
  file: string;
  dataset: { task: 'binary' | 'categorical'; classNames: string[]; files: LabelledFile[]; skipped: SkippedFile[]; emptyClasses: string[] };
  /** The rows of `files` (in that order) as the input of layer `from`, after checking `model`'s base made them. */
  store(model: tfl.LayersModel, files: LabelledFile[], from: string): { store: FeatureStore; skipped: SkippedFile[] };
}

/** The dataset: which images train and which validate, how they are read, and how each class weighs. */
export interface DataOptions extends RasterOptions {
  /** The fraction held out for validation (default `DEFAULT_VALIDATION_SPLIT`, 0.2; 0 for none). */
  validationSplit?: number;
  /** The split, the new head's initial weights and the batch order (default `DEFAULT_SEED`). */
  seed?: number;
  /** Images left out of the dataset before the split (absolute paths; `readExclusionList`). */
  exclude?: string[];
  /** 'balanced' (n / (classes × count)), 'none' (default), or a weight per class name (Keras's class_weight). */
  classWeight?: 'balanced' | 'none' | Record<string, number>;
  /** Random flips, rotations, … of the training images (the frozen part then runs on every batch). */
  augment?: AugmentSpec;
  /** DICOM images: window and frame (stored with the model). */
  dicom?: DicomSettings;
  /** Grayscale into an RGB base: `repeat` the channel (default) or `sum` the first convolution's RGB kernels. */
  grayToRgb?: 'repeat' | 'sum';
  /** Features computed beforehand (`trainFromFeatures`): the dataset and the head's inputs come from them. */
  precomputed?: PrecomputedFeatures;
}

/** The network: the base, its weights and input, the head, which part trains, and what its output means. */
export interface ModelOptions {
  /** The base, resolved by `resolveBase`: a zoo id or Keras name, a .onnx file, a model folder or a registry backbone. */
  base: string;
  /**
   * A saved model to fine-tune instead of a base with a new head (a transferkit folder or a Keras model.keras /
   * .h5, from `loadModel`): its output must have one unit per class; it trains from `unfreezeFrom` on.
   */
  from?: SavedModel;
  /**
   * An imported ONNX base, read and cut (`resolveBase(spec).options`); `base` may also name one (a .onnx file, a
   * model folder, a registry backbone), which is then read with its defaults.
   */
  onnxBase?: OnnxBase;
  alpha?: number;
  /** Global pooling at the base's end (Keras's `pooling`); the default head then has no `gap`. */
  pooling?: 'avg' | 'max';
  /** 'imagenet' (default), null for random weights, or a Keras .h5 file. */
  weights?: 'imagenet' | null | string;
  /** Images are resized to inputSize × inputSize (default: the base's own size). */
  inputSize?: number;
  /** Default `DEFAULT_STRATEGY` (feature-extraction). */
  strategy?: Strategy;
  /** For fine-tune: the first layer to train in the second phase (see `transferkit layers`). */
  unfreezeFrom?: string;
  /**
   * Head spec; default `gap, dense:1:sigmoid` (two classes) or `…dense:N:softmax`, trained on standardised
   * features with an L2 penalty (`standardize`, `l2`); `gap, dropout:0.5, dense:…` where it is not (augmentation,
   * `full`, regression, `standardize: false`); an ONNX base `dropout:0.2, dense:…` (`DEFAULT_HEAD_DROPOUT`).
   */
  head?: string;
  /** Regression: the loss (default mse). */
  regressionLoss?: 'mse' | 'mae';
  /** Two classes: 'auto' picks the decision threshold on the validation split by Youden's J (default 0.5). */
  threshold?: number | 'auto';
}

/** How long and how fast each phase trains. */
export interface ScheduleOptions {
  /**
   * 'auto' (default): phases on cached features train until the validation loss stops improving (patience
   * `earlyStoppingPatience`, default 5; at most `maxEpochs`, default 200) and keep their best weights; phases that
   * run the base on every batch train `FIXED_EPOCHS`. A convex head (one Dense on standardised rows with an L2
   * penalty: the default head) watches its regularised training loss instead of the validation loss, so it trains
   * to convergence as a logistic regression solver does (`CONVERGENCE_TOL`, epoch-loop.ts). A number: every phase
   * trains that many.
   */
  epochs?: number | 'auto';
  /** Epochs of fine-tune's second phase (default: epochs, or 10 under auto). */
  fineTuneEpochs?: number;
  /** The cap of an automatic phase (default 200). */
  maxEpochs?: number;
  /** Default `DEFAULT_BATCH_SIZE` (32). */
  batchSize?: number;
  /**
   * A rate, or 'auto': a learning-rate range test picks it for each phase (see lr-find.ts). Default: per phase
   * (`DEFAULT_RATES` and `defaultHeadRate` in phase-plan.ts).
   */
  learningRate?: number | 'auto';
  optimizer?: 'adam' | 'sgd' | 'rmsprop';
  /** constant | cosine | one-cycle (default: one-cycle for a fixed number of epochs, constant under auto). */
  schedule?: ScheduleName;
  /** Steps of linear warm-up from zero (default: none; one-cycle warms up over its first 25%). */
  warmupSteps?: number;
  /** Fine-tuning: each block before the last trains at this fraction of the next one's rate (discriminative rates). */
  lrDecay?: number;
  /**
   * An L2 penalty l2·Σw² on the trained Dense kernels (Keras's `kernel_regularizer=l2(l2)`); default
   * `defaultL2(n)` = min(0.1, 64 / n) for the default head on standardised features, else 0.
   */
  l2?: number;
  /**
   * A new default head trains on features standardised with the training rows' mean and deviation, folded into
   * its Dense layer afterwards (default `DEFAULT_STANDARDIZE`).
   */
  standardize?: boolean;
  /**
   * Under epochs auto, after the first phase has kept its best epoch: train the head again from its initial weights
   * on the training and validation images together for that many epochs (default false). The validation scores
   * are then the model's before the refit.
   */
  refit?: boolean;
}

/** When a phase ends and which weights it keeps. */
export interface StoppingOptions {
  /** Stop a phase after this many epochs without a lower validation loss (Keras's EarlyStopping; auto: 5). */
  earlyStoppingPatience?: number;
  /** End each phase with the weights of its best validation loss (Keras's restore_best_weights; on under auto). */
  restoreBest?: boolean;
  /** Divide the learning rate by 10 after this many epochs without a lower validation loss (ReduceLROnPlateau; auto: 2 for a head). */
  reduceLrPatience?: number;
  /**
   * More callbacks for every phase, after the ones the options above make (see callbacks.ts: `earlyStopping`,
   * `reduceLrOnPlateau`, `restoreBestWeights`, `epochCheckpoint`, or your own object with `onEpochEnd` …).
   */
  callbacks?: TrainCallback[];
  /** Stops training after the current batch (Ctrl-C): the result keeps the last complete epoch's weights. */
  signal?: AbortSignal;
}

/** Where the steps run, where the frozen part's outputs are kept, and who hears about progress. */
export interface EngineOptions {
  /** Engine for every forward pass and step (default: ONNX Runtime when it loads, else tfjs-wasm). */
  engine?: EngineName;
  /** Keep the frozen part's outputs in memory (default) or in $TRANSFERKIT_HOME/cache, reused by later runs. */
  featureCache?: 'memory' | 'disk';
  /** Called with progress: notices, features extracted, batches and epochs. */
  onEvent?(event: TrainEvent): void;
  /**
   * Training steps per call into the engine (Keras's `steps_per_execution`): the same updates as one step at a
   * time, with the engine's per-call costs paid once per group; progress events and the abort signal are then
   * seen after each group, and the loss is checked per batch after its group. Default: the engine's choice (1 on
   * tfjs, which takes one step at a time whatever this says).
   */
  stepsPerExecution?: number;
}

/**
 * What `trainImageClassifier` takes: the five groups' fields side by side (one flat object, as the CLI, the page
 * and earlier releases pass it). Defaults: train/defaults.ts.
 */
export interface TrainOptions extends DataOptions, ModelOptions, ScheduleOptions, StoppingOptions, EngineOptions {}

/** How a phase went: its epochs, and under auto where it stopped and which epoch's weights it kept. */
export interface PhaseLog {
  phase: number;
  trainedFrom: string;
  epochs: number | 'auto';
  learningRate: number;
  schedule: ScheduleName;
  stoppedAt: number;
  bestEpoch: number | null;
}

/** A trained model with its history and evaluation, ready for `saveModel`. */
export interface TrainResult {
  model: tfl.LayersModel;
  task: Task;
  /** Empty for regression. */
  classNames: string[];
  strategy: Strategy;
  head: string;
  inputShape: [number, number, number];
  history: Array<EpochLog & { phase: number; trainedFrom: string }>;
  phases: PhaseLog[];
  /** The validation split with the kept weights; `report` holds per-class and (two classes) threshold metrics. */
  val: { loss: number | null; accuracy: number | null; mae?: number | null; rmse?: number | null; report?: ClassificationReport };
  /** Two classes: the decision threshold on p(second class). */
  threshold?: number;
  /** The weight of each class in the training loss, when not all 1. */
  classWeights?: number[];
  skipped: SkippedFile[];
  emptyClasses: string[];
  timings: { featuresS: number; trainS: number; totalS: number };
  counts: { train: number; validation: number };
  /** Rows of the frozen part's outputs read back from the disk cache instead of computed. */
  cacheHits: number;
  /** Multi-band rasters: the bands trained on, their scaling and the base's adaptation. */
  bands?: RasterPlan & { firstConv: string };
  /** On an imported ONNX base: its graph (saved as base.onnx) and what transferkit.json records about it. */
  onnxBase?: { onnx: Uint8Array; record: OnnxBaseRecord };
  /** Set when training ended early (interrupted, or a loss that is not a number): why, and the weights kept. */
  stopped?: { reason: string; phase: number; keptEpoch: number };
}
