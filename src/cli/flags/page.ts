// The training flags the web page (`transferkit ui`) may set: a job request carries them by the option each sets.
import type { TrainOptions } from '../../train/fit/fit.js';
import { alpha, base, batchSize, inputSize } from './base.js';
import { bandAdaptation, bandScale, bands } from './bands.js';
import { engine } from './engine.js';
import { earlyStopping, epochs, fineTuneEpochs, learningRate, optimizer, reduceLr, restoreBest, stepsPerExecution } from './schedule.js';
import { augment, featureCache, head, loss, seed, strategy, unfreezeFrom, validationSplit } from './train.js';

const PAGE_FLAGS = [
  base,
  alpha,
  inputSize,
  strategy,
  unfreezeFrom,
  head,
  epochs,
  fineTuneEpochs,
  batchSize,
  learningRate,
  optimizer,
  validationSplit,
  seed,
  earlyStopping,
  restoreBest,
  reduceLr,
  augment,
  featureCache,
  loss,
  engine,
  stepsPerExecution,
  bands,
  bandScale,
  bandAdaptation,
];

/** The training options a job request may set; paths (data, out, weights) go through the server's gate separately. */
export const JOB_FIELDS: ReadonlyArray<keyof TrainOptions> = PAGE_FLAGS.flatMap((f) => (f.sets ? [f.sets] : []));
