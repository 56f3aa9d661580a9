import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_AUGMENT, parseAugmentSpec } from '../../data/augment.js';
import { TransferkitError, UsageError } from '../../errors.js';
import { writeHistoryCharts } from '../../report/history.js';
import { ProgressBar } from '../../util/progress.js';
import { type TrainEvent, type TrainOptions, trainImageClassifier, trainedModelMetadata } from '../../train/fit/fit.js';
import { trainFromFeatures } from '../../train/features/precomputed.js';
import { readExclusionList } from '../../data/exclusions.js';
import { calibrateSaved, calibrationLine } from './calibrate.js';
import { EMBEDDING_HEAD_HELP, parseEmbeddingHead } from '../../heads/embedding.js';
import { fitEmbeddingHead } from '../../heads/fit-head.js';
import { onnxTrainFromRefusal } from '../../train/model/onnx-base.js';
import { loadModel, saveModel } from '../../train/saved/saved-model.js';
import { SCHEDULES, type ScheduleName } from '../../train/fit/schedule.js';
import { STRATEGIES, type Strategy } from '../../train/strategy/strategies.js';
import { type Command, type Options, type Values, numberOption, printJson } from '../command.js';
import {
  DICOM_HELP,
  DICOM_OPTIONS,
  ENGINE_HELP,
  ENGINE_OPTIONS,
  IMAGE_BASE_HELP,
  IMAGE_BASE_OPTIONS,
  dicomFrom,
  engineFrom,
  onnxBaseFrom,
  savedModelArgs,
} from '../model-options.js';

/** Renders the library's training events as progress bars and Keras-style epoch lines on stderr. */
function progress(): (e: TrainEvent) => void {
  let bar: ProgressBar | undefined;
  let seen = 0;
  return (e) => {
    if (e.type === 'notice') process.stderr.write(`transferkit: ${e.message}\n`);
    if (e.type === 'features') {
      if (!bar) {
        bar = new ProgressBar({ label: `Phase ${e.phase + 1}: caching the frozen part's outputs`, total: e.total });
        seen = 0;
      }
      bar.tick(e.done - seen);
      seen = e.done;
      if (e.done >= e.total) {
        bar.finish();
        bar = undefined;
      }
    }
    // Batch bars only on a terminal: in a log the epoch lines say enough.
    if (e.type === 'batch' && process.stderr.isTTY) {
      if (!bar) {
        bar = new ProgressBar({ label: `Epoch ${e.epoch}/${e.epochs}`, total: e.batches });
        seen = 0;
      }
      bar.tick(e.batch - seen);
      seen = e.batch;
    }
    if (e.type === 'epoch') {
      bar?.finish();
      bar = undefined;
      const metrics = (prefix: string, loss: number, accuracy: number | null, mae?: number | null) =>
        ` - ${prefix}loss: ${loss.toFixed(4)}` +
        (accuracy !== null ? ` - ${prefix}accuracy: ${accuracy.toFixed(4)}` : ` - ${prefix}mae: ${(mae as number).toFixed(4)}`);
      const val = e.valLoss === null ? '' : metrics('val_', e.valLoss, e.valAccuracy, e.valMae);
      process.stderr.write(`Epoch ${e.epoch}/${e.epochs}${metrics('', e.loss, e.accuracy, e.mae)}${val}\n`);
    }
  };
}

/** A number flag that may also say 'auto'. */
function autoOr(values: Values, name: string, check: (n: number) => boolean, what: string): number | 'auto' | undefined {
  return values[name] === 'auto' ? 'auto' : numberOption(values, name, check, `${what} or auto`);
}

/** --class-weight balanced|none|FILE (a JSON object of class name → weight). */
function classWeightFrom(values: Values): TrainOptions['classWeight'] {
  const v = values['class-weight'] as string | undefined;
  if (v === undefined || v === 'balanced' || v === 'none') return v;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(v, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `--class-weight ${v}: not balanced, none or a readable JSON file ({"class name": weight, …}): ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((w) => typeof w !== 'number')) {
    throw new UsageError(`--class-weight ${v}: the file must hold a JSON object of class name → number, e.g. {"cat": 1, "dog": 3}`);
  }
  return parsed as Record<string, number>;
}

/** The training flags as library options (shared by train and compare). */
export function trainOptionsFrom(values: Values): TrainOptions {
  if (!values.base && !values.from) throw new UsageError('--base MODEL (or --from a saved model) is required');
  const onnxBase = onnxBaseFrom(values);
  // On an ONNX base, --unfreeze-last-blocks / --unfreeze-from imply fine-tuning.
  const strategy = (values.strategy as string | undefined) ?? (values.from || onnxBase?.cut ? 'fine-tune' : 'feature-extraction');
  if (!(STRATEGIES as readonly string[]).includes(strategy)) throw new UsageError(`--strategy must be one of ${STRATEGIES.join(', ')}; got '${strategy}'`);
  const optimizer = (values.optimizer as string | undefined) ?? 'adam';
  if (!['adam', 'sgd', 'rmsprop'].includes(optimizer)) throw new UsageError(`--optimizer must be adam, sgd or rmsprop; got '${optimizer}'`);
  const int = (name: string) => numberOption(values, name, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
  const weights = values.weights as string | undefined;
  const cache = (values['feature-cache'] as string | undefined) ?? 'memory';
  if (cache !== 'memory' && cache !== 'disk') throw new UsageError(`--feature-cache must be memory or disk; got '${cache}'`);
  const loss = values.loss as string | undefined;
  if (loss !== undefined && loss !== 'mse' && loss !== 'mae') throw new UsageError(`--loss must be mse or mae (regression); got '${loss}'`);
  const augmentSpec = values['augment-spec'] as string | undefined;
  const schedule = values.schedule as string | undefined;
  if (schedule !== undefined && !(SCHEDULES as readonly string[]).includes(schedule))
    throw new UsageError(`--schedule must be one of ${SCHEDULES.join(', ')}; got '${schedule}'`);
  return {
    ...(onnxBase ? { onnxBase } : {}),
    base: (values.base as string | undefined) ?? 'saved',
    alpha: numberOption(values, 'alpha', (n) => n > 0, 'a positive number'),
    weights: weights === undefined ? 'imagenet' : weights === 'none' ? null : weights,
    inputSize: int('input-size'),
    strategy: strategy as Strategy,
    unfreezeFrom: values['unfreeze-from'] as string | undefined,
    head: values.head as string | undefined,
    epochs: autoOr(values, 'epochs', (n) => Number.isInteger(n) && n > 0, 'a positive integer'),
    fineTuneEpochs: int('fine-tune-epochs'),
    maxEpochs: int('max-epochs'),
    batchSize: int('batch-size'),
    learningRate: autoOr(values, 'learning-rate', (n) => n > 0, 'a positive number'),
    ...(schedule ? { schedule: schedule as ScheduleName } : {}),
    warmupSteps: numberOption(values, 'warmup', (n) => Number.isInteger(n) && n >= 0, 'a whole number of steps'),
    lrDecay: numberOption(values, 'lr-decay', (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
    classWeight: classWeightFrom(values),
    threshold: autoOr(values, 'threshold', (n) => n > 0 && n < 1, 'a number in (0, 1)'),
    optimizer: optimizer as TrainOptions['optimizer'],
    validationSplit: numberOption(values, 'validation-split', (n) => n >= 0 && n < 1, 'a number in [0, 1)'),
    seed: numberOption(values, 'seed', (n) => Number.isInteger(n), 'an integer'),
    earlyStoppingPatience: int('early-stopping'),
    restoreBest: Boolean(values['restore-best']),
    reduceLrPatience: int('reduce-lr-on-plateau'),
    engine: engineFrom(values),
    augment: augmentSpec !== undefined ? parseAugmentSpec(augmentSpec) : values.augment ? DEFAULT_AUGMENT : undefined,
    featureCache: cache,
    ...(values.pooling !== undefined ? { pooling: poolingOption(values.pooling as string) } : {}),
    bands: values.bands as string | undefined,
    bandScale: values['band-scale'] as string | undefined,
    bandAdaptation: values['band-adaptation'] as TrainOptions['bandAdaptation'],
    dicom: dicomFrom(values),
    grayToRgb: grayToRgbFrom(values),
    ...(loss ? { regressionLoss: loss } : {}),
    onEvent: progress(),
  };
}

function poolingOption(raw: string): 'avg' | 'max' {
  if (raw !== 'avg' && raw !== 'max') throw new UsageError(`--pooling must be avg or max; got '${raw}'`);
  return raw;
}

function grayToRgbFrom(values: Values): TrainOptions['grayToRgb'] {
  const v = values['gray-to-rgb'] as string | undefined;
  if (v !== undefined && v !== 'repeat' && v !== 'sum') throw new UsageError(`--gray-to-rgb must be repeat or sum; got '${v}'`);
  return v;
}

/** Flags of train (and compare). */
export const TRAIN_OPTIONS: Options = {
  ...IMAGE_BASE_OPTIONS,
  ...ENGINE_OPTIONS,
  ...DICOM_OPTIONS,
  'gray-to-rgb': { type: 'string' },
  strategy: { type: 'string' },
  'unfreeze-from': { type: 'string' },
  'unfreeze-last-blocks': { type: 'string' },
  from: { type: 'string' },
  preprocessing: { type: 'string' },
  head: { type: 'string' },
  epochs: { type: 'string' },
  'fine-tune-epochs': { type: 'string' },
  'max-epochs': { type: 'string' },
  'learning-rate': { type: 'string' },
  schedule: { type: 'string' },
  warmup: { type: 'string' },
  'lr-decay': { type: 'string' },
  'class-weight': { type: 'string' },
  threshold: { type: 'string' },
  optimizer: { type: 'string' },
  'validation-split': { type: 'string' },
  seed: { type: 'string' },
  'early-stopping': { type: 'string' },
  'restore-best': { type: 'boolean' },
  'reduce-lr-on-plateau': { type: 'string' },
  augment: { type: 'boolean' },
  'augment-spec': { type: 'string' },
  'feature-cache': { type: 'string' },
  pooling: { type: 'string' },
  loss: { type: 'string' },
  bands: { type: 'string' },
  'band-scale': { type: 'string' },
  'band-adaptation': { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
};

export const trainCommand: Command = {
  name: 'train',
  usage: '<dataDir|targets.csv> --base <model>  |  --from <modelDir|model.keras|model.h5>  |  --features all.parquet [options]',
  positionals: [0, 1],
  options: { ...TRAIN_OPTIONS, features: { type: 'string' }, exclude: { type: 'string' }, calibrate: { type: 'boolean' } },
  help: `
Options:${IMAGE_BASE_HELP}${ENGINE_HELP}
  --strategy S                 feature-extraction (default) | fine-tune | full
  --unfreeze-from LAYER        fine-tune: after the head, train LAYER and everything after it at a tenth of the rate
  --unfreeze-last-blocks N     ONNX bases: fine-tune the last N blocks (see transferkit layers MODEL.onnx); with
                               --unfreeze-from BLOCK, either implies --strategy fine-tune
  --from DIR|FILE.keras|FILE.h5  fine-tune a saved model instead (a Keras user's own too): no new head, its outputs
                               must match the classes; trains from --unfreeze-from at --learning-rate (default 1e-4)
  --preprocessing MODE         with --from: caffe|tf|torch|unit|none, how the saved model's images are scaled
  --head SPEC                  default 'gap, dropout:0.2, dense:1:sigmoid' (2 classes) or '…dense:N:softmax';
                               or a head computed from the pooled features, no epochs: ${EMBEDDING_HEAD_HELP}
  --epochs auto|N              auto (default): phases on cached features train until the validation loss has not
                               improved for --early-stopping epochs (default 5), at most --max-epochs (200), and
                               keep their best weights; phases running the base on every batch (fine-tune's
                               second, full, augmentation) train 10. N: every phase trains N epochs
  --fine-tune-epochs N         fine-tune's second phase (default: --epochs, or 10)
  --learning-rate LR|auto      default: a head on a frozen base 0.25 / steps per epoch within [0.001, 0.01];
                               0.001 where base layers train (full, new band slices); 1e-4 for fine-tune's second
                               phase. LR: every phase at LR (fine-tune's second at LR/10); auto: a range test
                               (transferkit lr-find) picks it for each phase
  --schedule S                 constant | cosine | one-cycle (default: one-cycle for a fixed number of epochs,
                               constant under epochs auto)
  --warmup N                   steps of linear warm-up (one-cycle warms up over its first quarter by default)
  --lr-decay F                 fine-tuning: each base block before the last trains at F × the next one's rate
  --class-weight W             balanced (n / (classes × count)), none (default), or FILE.json {"class": weight}
  --threshold T|auto           two classes: the decision threshold on p(second class) (default 0.5); auto picks
                               it on the validation split by Youden's J; saved with the model, used by predict
  --optimizer adam|sgd|rmsprop default adam
  --validation-split F         default 0.2 (0 for none); split by --seed (default 1337)
  --calibrate                  after training, fit temperature scaling on the validation split and save it with
                               the model (transferkit calibrate; needs --out)
  --exclude FILE.csv           leave out the images a review list names (label-issues --fix, duplicates --fix):
                               every row whose action is not keep; the files themselves are not touched
  --early-stopping N           stop a phase after N epochs without a lower validation loss (auto: 5)
  --restore-best               end each phase with the weights of its best validation loss (always under auto)
  --reduce-lr-on-plateau N     divide the learning rate by 10 after N epochs without improvement (auto: 2 for a head)
  --augment                    random flips, rotations (±0.1 turn) and zooms (±10%) of the training images
  --augment-spec SPEC          choose them: 'flip[:horizontal|vertical|both], rotation:F, zoom:F, translation:F, contrast:F'
  --feature-cache memory|disk  keep the frozen part's outputs in memory (default) or in $TRANSFERKIT_HOME/cache,
                               where later runs on the same images and base find them
  --loss mse|mae               regression loss (default mse)
  --pooling avg|max            pool the base's output (Keras's pooling); the default head then starts at dropout
  --features FILE              train the head on features from 'transferkit extract' (.parquet, .arrow, .npy;
                               merged shards): no dataset folder, the base and size come from the file (and
                               are checked by digest), the split and results are those of training on the
                               images; the saved model holds the base, so predict takes images

GeoTIFF datasets (multi-band, 8/16-bit or float tiles in class folders):
  --bands SPEC                 bands to train on: 4,3,2 (1-based), B04,B03,B02 (Sentinel-2 names) or all
  --band-scale S               percentile:2,98 (default), minmax or divide:10000; statistics from the
                               training split, saved with the model so predict scales the same way
  --band-adaptation M          rgb (three colour bands) | repeat-mean (extra bands start from the mean RGB
                               kernel, scaled by 3/bands) | random; required for other than three bands

DICOM datasets (.dcm, or extensionless files with the DICM preamble; the window is saved with the model):${DICOM_HELP}
  --gray-to-rgb repeat|sum     grayscale images into an RGB base: repeat the channel (default), or a one-channel
                               model whose first convolution sums the RGB kernels (the same answer, a third of the input)
  --out DIR                    save the model (model.json, weights.bin, transferkit.json) and loss/accuracy charts
  --json                       print {task, classNames, strategy, epochs, phases (stoppedAt, bestEpoch), history,
                               val (with report: per-class and macro metrics, balanced accuracy, ROC/PR AUC),
                               threshold, skipped, images, timings, cacheHits, out}

Example:
  transferkit train photos/ --base mobilenet --alpha 0.25 --input-size 96 --out runs/photos`,
  async run(values, [dataDir]) {
    // Ctrl-C: finish the batch, keep the last complete epoch, save it, and exit nonzero.
    const interrupt = new AbortController();
    const onSigint = () => {
      process.stderr.write('\ntransferkit: stopping after this batch (Ctrl-C again to quit at once)\n');
      interrupt.abort();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onSigint);
    const features = values.features as string | undefined;
    if (values.calibrate && (!values.out || features || parseEmbeddingHead(values.head as string | undefined)?.kind === 'knn'))
      throw new UsageError(
        '--calibrate fits a temperature on the validation split of a saved model: give --out DIR, train on the folder, and a head with logits (not knn)',
      );
    if (features && parseEmbeddingHead(values.head as string | undefined))
      throw new UsageError(`--head ${values.head} computes the head from the images' features: train on the folder, not --features`);
    if (features && dataDir) throw new UsageError(`give either a dataset (${dataDir}) or --features ${features}, not both`);
    if (!features && !dataDir) throw new UsageError('missing argument: transferkit train <dataDir> --base MODEL (or --features FILE)');
    let run;
    try {
      if (features) {
        // The base comes from the file: flags given restate it (and are checked); weights only if given.
        const given = trainOptionsFrom({ base: 'from-features', ...values });
        const o = {
          ...given,
          base: values.base as string | undefined,
          weights: values.weights === undefined ? undefined : given.weights,
          signal: interrupt.signal,
        };
        const { result, options, root } = await trainFromFeatures(features, o);
        run = { r: result, options, data: root };
      } else {
        const from = values.from ? await loadModel(values.from as string, savedModelArgs(values, [values.from as string], 'train', 0).options) : undefined;
        if (from?.onnxBase) throw onnxTrainFromRefusal();
        const exclude = values.exclude ? await readExclusionList(values.exclude as string) : undefined;
        const options = { ...trainOptionsFrom(values), signal: interrupt.signal, ...(from ? { from } : {}), ...(exclude ? { exclude } : {}) };
        const embedding = parseEmbeddingHead(options.head);
        run = { r: embedding ? await fitEmbeddingHead(dataDir, options, embedding) : await trainImageClassifier(dataDir, options), options, data: dataDir };
      }
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    const { r, options } = run;
    const out = values.out as string | undefined;
    if (out) {
      await saveModel(r.model, out, trainedModelMetadata(r, options, run.data), r.onnxBase?.onnx);
      if (r.history.length) await writeHistoryCharts(out, r.history);
    }
    const calibration =
      values.calibrate && out && !r.stopped ? await calibrateSaved(out, run.data, { subset: 'validation', out, engine: options.engine }) : undefined;
    if (r.stopped) {
      const kept = r.stopped.keptEpoch
        ? `the weights of epoch ${r.stopped.keptEpoch}${r.stopped.phase ? ` of phase ${r.stopped.phase + 1}` : ''}`
        : 'the weights from before the phase';
      throw new TransferkitError(`stopped: ${r.stopped.reason}; ${out ? `saved ${kept} to ${out}` : `nothing saved (give --out DIR to keep ${kept})`}`);
    }
    const summary = {
      task: r.task,
      ...(r.bands ? { bands: r.bands } : {}),
      classNames: r.classNames,
      strategy: r.strategy,
      epochs: r.history.length,
      phases: r.phases,
      history: r.history,
      val: r.val,
      ...(r.threshold !== undefined ? { threshold: r.threshold } : {}),
      skipped: r.skipped,
      images: r.counts,
      timings: r.timings,
      cacheHits: r.cacheHits,
      out: out ? path.resolve(out) : null,
      ...(calibration ? { calibration: { temperature: calibration.temperature, before: calibration.before.ece, after: calibration.after.ece } } : {}),
    };
    if (values.json) return printJson(summary);
    const report = r.val.report;
    const balanced = report && r.classWeights ? `, balanced accuracy ${(report.balancedAccuracy * 100).toFixed(1)}%` : '';
    const auc = report?.binary ? `, ROC AUC ${report.binary.rocAuc.toFixed(3)}` : '';
    const acc =
      r.val.loss === null
        ? 'no validation split'
        : r.task === 'regression'
          ? `validation MAE ${(r.val.mae as number).toPrecision(4)}, RMSE ${(r.val.rmse as number).toPrecision(4)}`
          : `validation accuracy ${((r.val.accuracy as number) * 100).toFixed(1)}%${balanced}${auc}`;
    const epochs = r.phases
      .map((p) =>
        p.bestEpoch !== null && p.epochs === 'auto'
          ? `phase ${p.phase + 1}: best epoch ${p.bestEpoch} of ${p.stoppedAt}`
          : `phase ${p.phase + 1}: ${p.stoppedAt} epochs`,
      )
      .join(', ');
    const how = r.history.length ? epochs : `head ${r.head} computed from the features, no epochs`;
    const what = r.task === 'regression' ? 'a regressor' : r.classNames.join(', ');
    process.stdout.write(
      `trained ${r.strategy} on ${r.counts.train} images (${what}): ${acc}; ${how}; ${r.timings.totalS.toFixed(1)} s${out ? `; saved to ${out}` : ''}\n`,
    );
    if (calibration) process.stdout.write(`calibrated on the validation split: ${calibrationLine(calibration)}\n`);
    if (r.skipped.length)
      process.stdout.write(
        `skipped ${r.skipped.length} file(s): ${r.skipped
          .slice(0, 3)
          .map((s) => `${s.file} (${s.reason})`)
          .join('; ')}${r.skipped.length > 3 ? '; …' : ''}\n`,
      );
  },
};
