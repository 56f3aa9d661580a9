// How long and how fast training runs: epochs, rates, schedule, optimizer and stopping.
import { SCHEDULES } from '../../train/fit/schedule.js';
import { choice, int, isPositiveInt, num, numOrAuto, toggle } from '../flag.js';

export const epochs = numOrAuto(
  'epochs',
  'auto|N',
  `auto (default): phases on cached features train until the validation loss has not
improved for --early-stopping epochs (default 5), at most --max-epochs (200), and
keep their best weights; the default head on standardised features with L2 (a
convex logistic regression) trains until its regularised training loss stops
falling (by 0.1%) instead, as scikit-learn does; phases running the base on every
batch (fine-tune's second, full, augmentation) train 10. N: every phase trains N epochs`,
  isPositiveInt,
  'a positive integer',
  { sets: 'epochs' },
);
export const fineTuneEpochs = int('fine-tune-epochs', 'N', "fine-tune's second phase (default: --epochs, or 10)", { sets: 'fineTuneEpochs' });
export const maxEpochs = int('max-epochs', 'N', 'epochs auto: the most epochs a phase trains (default 200)', { sets: 'maxEpochs' });
export const learningRate = numOrAuto(
  'learning-rate',
  'LR|auto',
  `default: a head on a frozen base 0.25 / steps per epoch within [0.001, 0.01];
0.001 where base layers train (full, new band slices); 1e-4 for fine-tune's second
phase. LR: every phase at LR (fine-tune's second at LR/10); auto: a range test
(transferkit lr-find) picks it for each phase`,
  (n) => n > 0,
  'a positive number',
  { sets: 'learningRate' },
);
export const schedule = choice(
  'schedule',
  SCHEDULES,
  'S',
  `constant | cosine | one-cycle (default: one-cycle for a fixed number of epochs,
constant under epochs auto)`,
  { sets: 'schedule' },
);
export const warmup = num(
  'warmup',
  'N',
  'steps of linear warm-up (one-cycle warms up over its first quarter by default)',
  (n) => Number.isInteger(n) && n >= 0,
  'a whole number of steps',
  { sets: 'warmupSteps' },
);
export const lrDecay = num(
  'lr-decay',
  'F',
  "fine-tuning: each base block before the last trains at F × the next one's rate",
  (n) => n > 0 && n <= 1,
  'a number in (0, 1]',
  { sets: 'lrDecay' },
);
export const optimizer = choice('optimizer', ['adam', 'sgd', 'rmsprop'], 'adam|sgd|rmsprop', 'default adam', {
  what: 'adam, sgd or rmsprop',
  sets: 'optimizer',
});
export const earlyStopping = int(
  'early-stopping',
  'N',
  'stop a phase after N epochs without a lower validation loss (auto: 5; the default head under auto: its regularised training loss)',
  {
    sets: 'earlyStoppingPatience',
  },
);
export const restoreBest = toggle(
  'restore-best',
  'end each phase with the weights of its best validation loss (always under auto; the default head: its lowest regularised training loss)',
  { sets: 'restoreBest' },
);
export const reduceLr = int('reduce-lr-on-plateau', 'N', 'divide the learning rate by 10 after N epochs without improvement (auto: 2 for a head)', {
  sets: 'reduceLrPatience',
});
export const l2 = num(
  'l2',
  'L',
  `an L2 penalty L·Σw² on the head's Dense kernels (Keras's kernel_regularizer=l2(L));
default: min(0.1, 64 / training images) for the default head on standardised
features, else 0`,
  (n) => n >= 0,
  'a number ≥ 0',
  { sets: 'l2' },
);
export const standardize = choice(
  'standardize',
  ['on', 'off'],
  'on|off',
  `train a new head on pooled features standardised per channel (mean and deviation of
the training images, folded into its Dense layer afterwards; the saved model is
unchanged in form); default: on for the default head on a zoo base, classification`,
  { sets: 'standardize' },
);
export const refit = toggle(
  'refit',
  `under epochs auto, train the head again on training + validation images for the
epochs auto kept (the validation scores are then those before the refit)`,
  { sets: 'refit' },
);
export const stepsPerExecution = int(
  'steps-per-execution',
  'N',
  `training steps per call into the engine (Keras's steps_per_execution): the same
updates with fewer calls; progress and Ctrl-C are seen after each N (default: the
engine's choice; tfjs takes one at a time)`,
  { sets: 'stepsPerExecution' },
);
