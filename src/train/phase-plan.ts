// The phase plan: which layers each phase trains, for how many epochs, at which rate and on which schedule.
// fastai's and Keras's recipe: the head first on a frozen base, then the unfrozen layers at a tenth of the rate.
import type * as tfl from '@tensorflow/tfjs-layers';
import { modelBlocks } from '../applications/blocks.js';
import type { TrainOptions } from './options.js';
import type { ScheduleName } from './schedule.js';
import type { Strategy } from './strategies.js';
import { baseModel } from '../model/introspect.js';

/** Epochs of a phase that runs the base on every batch, when none are given. */
export const FIXED_EPOCHS = 10;
/** Epochs of an automatic phase when there is no validation split to stop on. */
export const AUTO_FALLBACK_EPOCHS = 20;

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

export function planPhases(o: TrainOptions, layers: PhaseLayers, hasValidation: boolean): Phase[] {
  const strategy = o.strategy ?? 'feature-extraction';
  const lr = o.learningRate === 'auto' ? null : (o.learningRate ?? 1e-3);
  const fixed = typeof o.epochs === 'number' ? o.epochs : null;
  const phase = (from: string, s: Strategy, rate: number | null, epochs?: number): Phase => {
    const start = layers.newFirstConv || from === layers.crossedCut ? layers.firstBase : from;
    const onCache = !o.augment && start !== layers.firstBase;
    const n: number | 'auto' = epochs ?? fixed ?? (onCache ? (hasValidation ? 'auto' : AUTO_FALLBACK_EPOCHS) : FIXED_EPOCHS);
    return {
      from: start,
      trainedFrom: from === layers.crossedCut ? from : start,
      strategy: s,
      epochs: n,
      lr: rate,
      schedule: o.schedule ?? (n === 'auto' ? 'constant' : 'one-cycle'),
      onCache,
    };
  };
  // A loaded model (train --from) keeps its head: one phase from the cut, at a tenth of the usual rate.
  if (o.from) return [phase(o.unfreezeFrom as string, 'fine-tune', o.learningRate === undefined ? 1e-4 : lr)];
  if (strategy === 'full') return [phase(layers.firstBase, strategy, lr)];
  if (strategy === 'feature-extraction') return [phase(layers.firstHead, strategy, lr)];
  return [phase(layers.firstHead, 'feature-extraction', lr), phase(o.unfreezeFrom as string, 'fine-tune', lr === null ? null : lr / 10, o.fineTuneEpochs)];
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
