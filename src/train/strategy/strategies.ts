import type * as tfl from '@tensorflow/tfjs-layers';
import { checkFineTuneStart } from '../../bases/fine-tune-start.js';
import { baseModel, countParams } from '../../model/introspect.js';
import { freeze, restoreTrainable, snapshotTrainable, unfreeze, unfreezeFrom } from '../model/trainable.js';

/** The three ways to train a pretrained base with a new head. */
import type { Strategy } from '../shapes.js';

export type { Strategy } from '../shapes.js';
/** The three transfer-learning strategies. */
export const STRATEGIES: readonly Strategy[] = ['full', 'feature-extraction', 'fine-tune'];

/**
 * Sets the trainable flags of `model` (a base with a head) for a strategy: everything trainable, the base frozen,
 * or the base frozen up to `unfreezeFromLayer`. The head is trainable in all three.
 */
export function applyStrategy(model: tfl.LayersModel, strategy: Strategy, unfreezeFromLayer?: string): void {
  unfreeze(model);
  if (strategy === 'feature-extraction') freeze(baseModel(model));
  if (strategy === 'fine-tune') {
    checkFineTuneStart(strategy, unfreezeFromLayer);
    unfreezeFrom(model, unfreezeFromLayer as string);
  }
}

/** A strategy's parameter counts: trainable and frozen. */
export interface StrategyParams {
  strategy: Strategy;
  unfreezeFrom?: string;
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
}

/**
 * The seed's comparison (its Fig. 5): total, trainable and non-trainable parameters of the same model under full
 * training, feature extraction (frozen base) and fine-tuning from `unfreezeFrom`. The model's own flags are
 * left as they were.
 */
export function compareParams(model: tfl.LayersModel, options: { unfreezeFrom: string }): StrategyParams[] {
  const snapshot = snapshotTrainable(model);
  try {
    return STRATEGIES.map((strategy) => {
      applyStrategy(model, strategy, options.unfreezeFrom);
      const c = countParams(model);
      return {
        strategy,
        ...(strategy === 'fine-tune' ? { unfreezeFrom: options.unfreezeFrom } : {}),
        totalParams: c.total,
        trainableParams: c.trainable,
        nonTrainableParams: c.nonTrainable,
      };
    });
  } finally {
    restoreTrainable(snapshot);
  }
}
