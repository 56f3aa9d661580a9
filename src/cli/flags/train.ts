// What trains and on what: strategy, head, split, class weights, augmentation, caching; the groups train and
// the commands built on it (compare, lr-find, duplicates, label-issues) take.
import { readFileSync } from 'node:fs';
import { parseAugmentSpec } from '../../data/augment.js';
import { UsageError } from '../../errors.js';
import { EMBEDDING_HEAD_HELP } from '../../heads/embedding.js';
import { STRATEGIES } from '../../train/strategy/strategies.js';
import { DEFAULT_SEED, DEFAULT_VALIDATION_SPLIT } from '../../util/defaults.js';
import { choice, int, num, numOrAuto, parsed, text, toggle, withHelp } from '../flag.js';
import { ENGINE } from './engine.js';
import { bandAdaptation, bandScale, bands, grayToRgb } from './bands.js';
import { IMAGE_BASE } from './base.js';
import { DICOM } from './dicom.js';
import { head as modelHead, pooling as modelPooling, unfreezeFrom as modelUnfreezeFrom } from './model.js';
import { preprocessing as savedPreprocessing } from './saved-model.js';
import * as S from './schedule.js';

export const strategy = choice('strategy', STRATEGIES, 'S', 'feature-extraction (default) | fine-tune | full', { sets: 'strategy' });
export const unfreezeFrom = withHelp(modelUnfreezeFrom, 'fine-tune: after the head, train LAYER and everything after it at a tenth of the rate');
export const unfreezeLastBlocks = int(
  'unfreeze-last-blocks',
  'N',
  `ONNX bases: fine-tune the last N blocks (see transferkit layers MODEL.onnx); with
--unfreeze-from BLOCK, either implies --strategy fine-tune`,
);
export const from = text(
  'from',
  'DIR|FILE.keras|FILE.h5',
  `fine-tune a saved model instead (a Keras user's own too): no new head, its outputs
must match the classes; trains from --unfreeze-from at --learning-rate (default 1e-4)`,
);
export const preprocessing = withHelp(savedPreprocessing, "with --from: caffe|tf|torch|unit|none, how the saved model's images are scaled");
export const head = withHelp(
  modelHead,
  `default 'gap, dense:1:sigmoid' (2 classes) or '…dense:N:softmax', trained on
standardised features with an L2 penalty (see --l2, --standardize); 'gap, dropout:0.5, dense:…'
with --augment, --strategy full, --standardize off or for regression (an ONNX base: 'dropout:0.2, dense:…');
or a head computed from the pooled features, no epochs: ${EMBEDDING_HEAD_HELP}`,
);

/** balanced|none|FILE (a JSON object of class name → weight). */
function classWeight(v: string): 'balanced' | 'none' | Record<string, number> {
  if (v === 'balanced' || v === 'none') return v;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(v, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `--class-weight ${v}: not balanced, none or a readable JSON file ({"class name": weight, …}): ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badClassWeights(v);
  const entries = Object.entries(parsed);
  const weights: Record<string, number> = {};
  for (const [name, w] of entries) {
    if (typeof w !== 'number') throw badClassWeights(v);
    weights[name] = w;
  }
  return weights;
}
const badClassWeights = (v: string) =>
  new UsageError(`--class-weight ${v}: the file must hold a JSON object of class name → number, e.g. {"cat": 1, "dog": 3}`);

export const validationSplit = num(
  'validation-split',
  'F',
  `default ${DEFAULT_VALIDATION_SPLIT} (0 for none); split by --seed (default ${DEFAULT_SEED})`,
  (n) => n >= 0 && n < 1,
  'a number in [0, 1)',
  {
    sets: 'validationSplit',
  },
);
export const seed = num(
  'seed',
  'N',
  `the split, the new layers' initial weights and the shuffle (default ${DEFAULT_SEED})`,
  (n) => Number.isInteger(n),
  'an integer',
  {
    sets: 'seed',
  },
);
export const featureCache = choice(
  'feature-cache',
  ['memory', 'disk'],
  'memory|disk',
  `keep the frozen part's outputs in memory (default) or in $TRANSFERKIT_HOME/cache,
where later runs on the same images and base find them`,
  { sets: 'featureCache' },
);
export const augment = toggle('augment', 'random flips, rotations (±0.1 turn) and zooms (±10%) of the training images', { sets: 'augment' });
export const augmentSpec = parsed(
  'augment-spec',
  'SPEC',
  "choose them: 'flip[:horizontal|vertical|both], rotation:F, zoom:F, translation:F, contrast:F'",
  parseAugmentSpec,
);

/** The flags every training run takes, in train's --help order (train adds its own around them). */
export const TRAIN_CORE = [
  strategy,
  unfreezeFrom,
  unfreezeLastBlocks,
  from,
  preprocessing,
  head,
  S.epochs,
  S.maxEpochs,
  S.fineTuneEpochs,
  S.learningRate,
  S.schedule,
  S.warmup,
  S.lrDecay,
  parsed('class-weight', 'W', 'balanced (n / (classes × count)), none (default), or FILE.json {"class": weight}', classWeight, { sets: 'classWeight' }),
  numOrAuto(
    'threshold',
    'T|auto',
    `two classes: the decision threshold on p(second class) (default 0.5); auto picks
it on the validation split by Youden's J; saved with the model, used by predict`,
    (n) => n > 0 && n < 1,
    'a number in (0, 1)',
    { sets: 'threshold' },
  ),
  S.optimizer,
  S.l2,
  S.standardize,
  S.refit,
  validationSplit,
  seed,
] as const;

export const STOPPING = [S.earlyStopping, S.restoreBest, S.reduceLr, augment, augmentSpec, featureCache, S.stepsPerExecution] as const;
export const loss = choice('loss', ['mse', 'mae'], 'mse|mae', 'regression loss (default mse)', { what: 'mse or mae (regression)', sets: 'regressionLoss' });
export const pooling = withHelp(modelPooling, "pool the base's output (Keras's pooling); the default head then starts at dropout");
export const GEOTIFF = [bands, bandScale, bandAdaptation] as const;

/** Every flag trainOptionsFrom reads. */
export const TRAIN = [...IMAGE_BASE, ...ENGINE, ...TRAIN_CORE, ...STOPPING, loss, pooling, ...GEOTIFF, ...DICOM, grayToRgb] as const;
