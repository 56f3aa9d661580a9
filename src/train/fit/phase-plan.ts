// The phase plan: which layers each phase trains, for how many epochs, at which rate and on which schedule.
// fastai's and Keras's recipe: the head first on a frozen base, then the unfrozen layers at a tenth of the rate.
import type * as tfl from '@tensorflow/tfjs-layers';
import { modelBlocks } from '../../applications/blocks.js';
import { AUTO_FALLBACK_EPOCHS, DEFAULT_BATCH_SIZE, DEFAULT_STRATEGY, FIXED_EPOCHS } from '../defaults.js';
import type { TrainOptions } from './options.js';
import type { ScheduleName } from './schedule.js';
import type { Strategy } from '../strategy/strategies.js';
import { baseModel } from '../../model/introspect.js';
import { isSingleValueCut } from '../../engine/onnx/walk.js';

/**
 * The default rates (Adam), the one place they live (the CLI, compare and the page leave the rate out). Phases
 * that train base layers keep Keras's 1e-3; fine-tune's second phase and a saved model trained again, a tenth.
 */
export const DEFAULT_RATES = { base: 1e-3, fineTune: 1e-4 } as const;

/**
 * A head on a frozen base is a linear model on fixed features, and Adam moves each weight by about the rate per
 * step: so its default rate gives every epoch the same reach, HEAD_REACH / steps per epoch, within [1e-3, 1e-2].
 * Measured (bench/accuracy.ts): at 1e-3, two CIFAR-10 classes (20 steps an epoch) ended 3–22 points under a
 * logistic regression after 10 epochs and auto needed 30–64; at 1e-2 every path was at the regression in 8–10.
 * On 10 classes (250 steps an epoch) 1e-2 overshot (66.6% against 68.2% at 1e-3), so it falls as epochs grow.
 */
export const HEAD_REACH = 0.25;
export const HEAD_RATES = { min: 1e-3, max: 1e-2 } as const;

export function defaultHeadRate(trainCount: number, batchSize: number): number {
  const steps = Math.max(1, Math.ceil(trainCount / batchSize));
  return Math.min(HEAD_RATES.max, Math.max(HEAD_RATES.min, HEAD_REACH / steps));
}

export interface Phase {
  /** Where a step starts: this layer's input is what is cached (or fed). */
  from: string;
  /** The first trained layer: `from`, or after it where skip connections cross the cut. */
  trainedFrom: string;
  strategy: Strategy;
  /** 'auto': until the validation loss stops improving (see options.ts). */
  epochs: number | 'auto';
  /** The rate; null until a range test picks it (`learningRate: 'auto'`). */
  lr: number | null;
  schedule: ScheduleName;
  /** Whether each step reads cached rows (cheap epochs) rather than running the base. */
  onCache: boolean;
}

export interface PhaseLayers {
  firstHead: string;
  firstBase: string;
  /** A first convolution with new band slices: it trains in every phase, so every phase starts there. */
  newFirstConv: string | null;
  /** A fine-tune cut that skip connections cross (no single value to cache): that phase starts at the base's input. */
  crossedCut?: string;
}

/**
 * A fine-tune cut that skip connections cross (its layers also read earlier values, so no single value can be
 * cached): that phase runs the frozen part on every batch. The cut and the notice saying so, or undefined.
 */
export function crossedCutOf(model: tfl.LayersModel, o: Pick<TrainOptions, 'strategy' | 'unfreezeFrom'>): { cut: string; notice: string } | undefined {
  const cut = o.strategy === 'fine-tune' ? o.unfreezeFrom : undefined;
  if (!cut || isSingleValueCut(model, cut)) return undefined;
  return {
    cut,
    notice: `skip connections cross the cut at ${cut} (its layers also read earlier values): the frozen part runs on every batch of the fine-tune phase, not from a cache`,
  };
}

/** The phases for `split` (the training and validation images' counts). */
export function planPhases(o: TrainOptions, layers: PhaseLayers, split: { train: number; validation: number }): Phase[] {
  const hasValidation = split.validation > 0;
  const strategy = o.strategy ?? DEFAULT_STRATEGY;
  // A given rate trains the head and full phases, and fine-tune's second phase at a tenth of it; auto: a range test.
  const rate = (fallback: number, divisor = 1): number | null =>
    o.learningRate === 'auto' ? null : o.learningRate === undefined ? fallback : o.learningRate / divisor;
  // New band slices of the first convolution train beside the head: base layers, so the base's rate.
  const headRate = rate(layers.newFirstConv ? DEFAULT_RATES.base : defaultHeadRate(split.train, o.batchSize ?? DEFAULT_BATCH_SIZE));
  const fixed = typeof o.epochs === 'number' ? o.epochs : null;
  const phase = (from: string, s: Strategy, lr: number | null, epochs?: number): Phase => {
    const start = layers.newFirstConv || from === layers.crossedCut ? layers.firstBase : from;
    const onCache = !o.augment && start !== layers.firstBase;
    const n: number | 'auto' = epochs ?? fixed ?? (onCache ? (hasValidation ? 'auto' : AUTO_FALLBACK_EPOCHS) : FIXED_EPOCHS);
    return {
      from: start,
      trainedFrom: from === layers.crossedCut ? from : start,
      strategy: s,
      epochs: n,
      lr,
      schedule: o.schedule ?? (n === 'auto' ? 'constant' : 'one-cycle'),
      onCache,
    };
  };
  // A loaded model (train --from) keeps its head: one phase from the cut, at a tenth of the usual rate.
  if (o.from) return [phase(o.unfreezeFrom as string, 'fine-tune', rate(DEFAULT_RATES.fineTune))];
  if (strategy === 'full') return [phase(layers.firstBase, strategy, rate(DEFAULT_RATES.base))];
  if (strategy === 'feature-extraction') return [phase(layers.firstHead, strategy, headRate)];
  return [
    phase(layers.firstHead, 'feature-extraction', headRate),
    phase(o.unfreezeFrom as string, 'fine-tune', rate(DEFAULT_RATES.fineTune, 10), o.fineTuneEpochs),
  ];
}

/**
 * Discriminative rates (fastai's): the head and the last base block train at the phase's rate, each block
 * before at `decay` times the next one's. Returns a layer's fraction of the rate.
 */
export function blockRateScale(model: tfl.LayersModel, decay: number): (layer: string) => number {
  const base = baseModel(model);
  const starts = new Set(modelBlocks(base).map((b) => b.firstLayer));
  // A layer belongs to the block whose first layer is the last one at or before it.
  const block = new Map<string, number>();
  let index = -1;
  for (const layer of base.layers) {
    if (starts.has(layer.name)) index++;
    block.set(layer.name, Math.max(0, index));
  }
  const last = Math.max(0, index);
  return (layer) => decay ** (last - (block.get(layer) ?? last));
}
