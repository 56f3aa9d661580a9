// Defaults that reach below training: the split of a folder and the seed of every seeded draw. `train`, the page,
// `predict --subset validation`, `duplicates` and `label-issues` must draw the same split of the same folder, so
// they read these rather than each writing the numbers. (The training run's other defaults: train/defaults.ts.)

/** The seed when none is given: the validation split, a new head's initial weights, the batch order, the folds. */
export const DEFAULT_SEED = 1337;

/** The fraction of a dataset's images held out for validation when none is given. */
export const DEFAULT_VALIDATION_SPLIT = 0.2;
