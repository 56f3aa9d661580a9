// Every default of a training run, by the option group it fills (fit/options.ts). Two live in src/util because
// layers below training read them too; the learning rates are worked out per phase from the data, where the
// phases are planned (fit/phase-plan.ts: DEFAULT_RATES, defaultHeadRate).
import type { Strategy } from './shapes.js';

// Data.
export { DEFAULT_SEED, DEFAULT_VALIDATION_SPLIT } from '../util/defaults.js';

// Model.
export const DEFAULT_STRATEGY: Strategy = 'feature-extraction';
/** Two classes: the decision threshold on p(second class). */
export const DEFAULT_THRESHOLD = 0.5;

// Schedule.
/** Examples per step when no batch size is given. */
export const DEFAULT_BATCH_SIZE = 32;
/** Epochs of a phase that runs the base on every batch, when none are given. */
export const FIXED_EPOCHS = 10;
/** Epochs of an automatic phase when there is no validation split to stop on. */
export const AUTO_FALLBACK_EPOCHS = 20;
/** The cap of an automatic phase (`maxEpochs`). */
export const AUTO_MAX_EPOCHS = 200;

// Stopping (the callbacks a phase gets: fit/callbacks.ts).
/** Under auto, a phase stops after this many epochs without a lower validation loss (`earlyStoppingPatience`). */
export const AUTO_PATIENCE = 5;
/**
 * Under auto, a head phase's rate falls tenfold after this many epochs without a lower validation loss
 * (ReduceLROnPlateau): the head's higher default rate (phase-plan.ts) then settles instead of stopping noisy.
 */
export const AUTO_REDUCE_PATIENCE = 2;
