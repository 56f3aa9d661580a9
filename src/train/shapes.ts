// What training reports, as plain data: the library returns and emits these, and the web page (ui/) reads them
// from the server. No imports, so the page's browser-only type-check takes this file as it is.

/** Which layers train: all (`full`), the head only (`feature-extraction`), or the head then the base from a layer on (`fine-tune`). */
export type Strategy = 'full' | 'feature-extraction' | 'fine-tune';

export type Task = 'binary' | 'categorical' | 'regression';

export interface EpochLog {
  epoch: number;
  loss: number;
  /** Classification: the fraction right; null for regression. */
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  /** Regression: mean absolute and root-mean-square error. */
  mae?: number;
  rmse?: number;
  valMae?: number | null;
  valRmse?: number | null;
  /** The learning rate at the end of the epoch. */
  lr?: number;
}

/** Progress of a training run, as the library emits it and the page shows it. */
export type TrainEvent =
  | { type: 'notice'; message: string }
  | { type: 'features'; phase: number; done: number; total: number }
  | { type: 'batch'; phase: number; epoch: number; epochs: number; batch: number; batches: number; loss: number }
  | ({ type: 'epoch'; phase: number; epochs: number /** Set by compare: the strategy being trained. */; strategy?: Strategy } & EpochLog);

/** One strategy's row in a comparison. */
export interface StrategyResult {
  strategy: Strategy;
  unfreezeFrom?: string;
  /** A head computed from the features without epochs (knn:K, prototype, logistic). */
  head?: string;
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  wallS: number;
  /** Training time per epoch (caching the frozen part excluded); null for a head with no epochs. */
  secondsPerEpoch: number | null;
  bestValAccuracy: number | null;
  finalValAccuracy: number | null;
}

export interface ClassMetrics {
  className: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Per-class precision, recall and F1, their averages, the confusion matrix and, for two classes, ROC and PR AUC. */
export interface ClassificationReport {
  accuracy: number;
  balancedAccuracy: number;
  macro: { precision: number; recall: number; f1: number };
  perClass: ClassMetrics[];
  /** confusionMatrix[true][predicted]. */
  confusionMatrix: number[][];
  /** Two classes (the second is the positive one): threshold-free and at-threshold metrics. */
  binary?: { rocAuc: number; prAuc: number; threshold: number; sensitivity: number; specificity: number };
}

/** The page's "Try it": the model's answer for one image and the Grad-CAM overlay of the class it decided. */
export interface ExplainAnswer {
  label: string;
  classIndex: number;
  /** The layer the map was read at. */
  layer: string;
  /** The map's maximum, as fractions of the image's height and width (0 = top/left). */
  peak: { y: number; x: number };
  /** The most probable classes, best first (up to three). */
  predictions: Array<{ label: string; probability: number }>;
  /** data:image/png;base64,… at the model's input size (width × height). */
  overlay: string;
  width: number;
  height: number;
}
