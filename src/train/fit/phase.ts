// One phase of a run: set the trainable layers and ready the data (cached rows or augmented batches), pick the
// rate, run the epochs, score the validation split with the weights kept and leave them in the model.
import { createHash } from 'node:crypto';
import type { LabelledFile } from '../../data/folders.js';
import { type FineTuneGraph, GraphTrainer, fineTuneGraph } from '../../engine/graph-trainer.js';
import { graphPredictor } from '../../engine/graph-predictor.js';
import { encodeModelValue } from '../../engine/onnx/proto.js';
import { optimizerSpec } from '../../engine/optimizers.js';
import { type Predictor, createPredictor } from '../../engine/predictor.js';
import { createTrainer } from '../../engine/trainer.js';
import type { Trainer, TrainerOptions } from '../../engine/training.js';
import { TransferkitError } from '../../errors.js';
import { baseModel } from '../../model/introspect.js';
import { DEFAULT_THRESHOLD } from '../defaults.js';
import { classificationReport, youdenThreshold } from '../evaluate/metrics.js';
import { type Batch, type Context, augmentedBatches, cacheFeatures, cachedBatches } from '../features/cache.js';
import type { FeatureStore } from '../features/store.js';
import type { Classifier } from '../model/build.js';
import { applyStrategy } from '../strategy/strategies.js';
import type { DataPlan } from './data-plan.js';
import { type PhaseOutcome, evaluateStore, runEpochs } from './epoch-loop.js';
import { leakNotice } from './leaks.js';
import { type RangeTest, type RangeTestOptions, autoRateNotice, rangeTest } from './lr-find.js';
import type { TrainEvent, TrainOptions, TrainResult } from './options.js';
import { type Phase, blockRateScale } from './phase-plan.js';
import { type Standardizer, channelStats, foldInto, standardized } from './standardize.js';
import { defaultL2, standardizesByDefault } from '../model/head.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { tf } from '../../tfjs.js';
import { joinStores, layerWeights, refitEpochs } from './refit.js';
import type { EpochLog } from './options.js';

/** Everything the phases share. */
export interface Run {
  o: TrainOptions;
  data: string;
  plan: DataPlan;
  cls: Classifier;
  c: Context;
  batch: number;
  random: () => number;
  emit(e: TrainEvent): void;
  featuresS: number;
  cacheHits: number;
  /** An ONNX base's fine-tune phase: its cut, suffix and head as one graph (set when the phase opens). */
  graph?: FineTuneGraph;
}

/** A phase's inputs: cached rows (or augmented batches through the frozen prefix) and the validation rows. */
export interface PhaseData {
  trainData: FeatureStore | null;
  valData: FeatureStore | null;
  /** The training and validation rows as the trainer sees them (standardised when `standardizer` is set). */
  trainFed: FeatureStore | null;
  valFed: FeatureStore | null;
  /** A new default head trains on standardised rows; folded into its Dense layer when the phase ends. */
  standardizer: Standardizer | null;
  prefix: Predictor | null;
  batches(): AsyncGenerator<Batch>;
  count: number;
  close(): Promise<void>;
}

/** The Dense layer that ends every head. */
const outputDense = (model: tfl.LayersModel) => model.layers[model.layers.length - 1];
const headInputs = (model: tfl.LayersModel) => outputDense(model).getWeights()[0].shape[0] as number;

/** Layers between the features and the output Dense that standardising per channel commutes with. */
const FOLDABLE = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Dropout']);

/**
 * Whether a phase trains its head on standardised rows: a new head (not continued `from` a saved model) in the
 * run's first phase, on cached features, when the head is pooling or dropout then one Dense layer; by default
 * (`DEFAULT_STANDARDIZE`) only the default head, with `standardize: true` any such head.
 */
function standardizes(run: Run, phase: Phase, p: number): boolean {
  const { o, cls } = run;
  const onFeatures = phase.from === cls.layers.firstHead || (cls.onnx !== undefined && phase.strategy === 'feature-extraction');
  const layers = cls.model.layers.slice(1, -1).map((l) => l.getClassName());
  const wanted = o.standardize ?? (!o.head && standardizesByDefault(run.plan.task, cls.onnx !== undefined));
  return wanted && p === 0 && !o.from && onFeatures && layers.every((l) => FOLDABLE.has(l)) && outputDense(cls.model).getClassName() === 'Dense';
}

/** `refit`: the first phase, under epochs auto, on cached rows with a validation split. */
const refits = (run: Run, phase: Phase, p: number, d: PhaseData) => Boolean(run.o.refit && p === 0 && phase.epochs === 'auto' && d.trainFed && d.valFed);

/** Trains the head again from `initial` on the training and validation rows for the kept epochs; the new trainer. */
async function refitHead(run: Run, phase: Phase, d: PhaseData, done: Trainer, initial: tf.Tensor[][], epochs: EpochLog[]): Promise<Trainer> {
  await done.dispose();
  run.cls.model.layers.slice(1).forEach((l, i) => l.setWeights(initial[i]));
  tf.dispose(initial.flat());
  const trainer = await newTrainer(run, phase, d, Boolean(run.plan.classWeights));
  const rows = joinStores(d.trainFed as FeatureStore, d.valFed as FeatureStore);
  const { task, classNames, classWeights } = run.plan;
  await refitEpochs(trainer, { epochs, rows, task, classes: classNames.length, batch: run.batch, random: run.random, classWeights });
  trainer.writeBack();
  run.emit({
    type: 'notice',
    message: `refit: the head trained again on the ${rows.labels.length} training and validation images for ${epochs.length} epochs (the best epoch's count); the validation scores are the model's before the refit`,
  });
  return trainer;
}

/** Sets the phase's trainable layers and readies its data. */
export async function openPhase(run: Run, phase: Phase, p: number): Promise<PhaseData> {
  const { o, c, cls, plan } = run;
  // The base may have trained in the phase before: its digest is taken afresh.
  c.digest = undefined;
  const onnxCut = cls.onnx && phase.strategy === 'fine-tune' ? phase.from : undefined;
  // An ONNX base's suffix trains in its own graph; in the tfjs model only the head does.
  applyStrategy(cls.model, onnxCut ? 'feature-extraction' : phase.strategy, phase.strategy === 'fine-tune' && !onnxCut ? o.unfreezeFrom : undefined);
  let cutPrefix: Predictor | null = null;
  if (onnxCut && cls.onnx) {
    run.graph = await fineTuneGraph(cls.onnx.base.prefix, onnxCut, cls.model);
    const bytes = encodeModelValue(run.graph.prefix);
    cutPrefix = await graphPredictor(bytes, { imageShape: [cls.size, cls.size, 3], label: `the ONNX base ${cls.onnx.base.file} up to ${onnxCut}` });
    c.prefix = { predictor: cutPrefix, digest: `onnx-cut:${cls.onnx.sha256}:${onnxCut}` };
  }
  if (cls.layers.newFirstConv) baseModel(cls.model).getLayer(cls.layers.newFirstConv).trainable = true;
  const t = performance.now();
  const cached = async (files: LabelledFile[]) => {
    const r = await cacheFeatures(c, files, phase.from, p);
    if (r.hit) run.cacheHits += r.store.labels.length;
    return r.store;
  };
  const trainData = o.augment ? null : await cached(plan.train);
  // An imported base is the frozen prefix itself (one predictor for the whole run).
  const ownPrefix = o.augment && !cls.onnx && phase.from !== cls.layers.firstBase;
  const prefix = ownPrefix
    ? await createPredictor(cls.model, { engine: o.engine, until: phase.from, batchSize: run.batch })
    : o.augment && cls.onnx
      ? (cutPrefix ?? cls.onnx.predictor)
      : null;
  const valData = plan.validation.length ? await cached(plan.validation) : null;
  if (trainData?.labels.length === 0) throw new TransferkitError(`${run.data}: no training image could be decoded`);
  const standardizer = trainData && standardizes(run, phase, p) ? await channelStats(trainData, headInputs(cls.model)) : null;
  run.featuresS += (performance.now() - t) / 1000;
  const fed = (s: FeatureStore | null) => (s && standardizer ? standardized(s, standardizer) : s);
  const fedTrain = fed(trainData);
  return {
    trainData,
    valData,
    trainFed: fedTrain,
    valFed: fed(valData),
    standardizer,
    prefix,
    batches: () => (fedTrain ? cachedBatches(fedTrain, run.batch, run.random) : augmentedBatches(c, plan.train, prefix, run.batch, run.random)),
    count: trainData ? trainData.labels.length : plan.train.length,
    close: async () => {
      if (ownPrefix) await prefix?.dispose();
      if (cutPrefix && cls.onnx) {
        await cutPrefix.dispose();
        c.prefix = { predictor: cls.onnx.predictor, digest: `onnx:${cls.onnx.sha256}` };
        run.graph = undefined;
      }
      await trainData?.close();
      await valData?.close();
    },
  };
}

/** The head's L2 penalty: the one asked for, else `DEFAULT_L2` for the default head on standardised rows. */
const l2Of = (run: Run, d: PhaseData) => run.o.l2 ?? (d.standardizer && d.trainData && !run.o.head ? defaultL2(d.trainData.labels.length) : 0);

/** A convex head: one Dense on standardised rows (no dropout) with an L2 penalty; its L2, else undefined. */
function convexL2(run: Run, d: PhaseData): number | undefined {
  const l2 = l2Of(run, d);
  return d.standardizer && l2 > 0 && !run.cls.model.layers.some((l) => l.getClassName() === 'Dropout') ? l2 : undefined;
}

/** What every trainer of a run is made with (a phase's layers, penalty and rates are added by `newTrainer`). */
export const runTrainerOptions = (o: TrainOptions, loss: TrainerOptions['loss'], weighted: boolean): TrainerOptions => ({
  loss,
  optimizer: optimizerSpec(o.optimizer),
  seed: o.seed,
  weighted,
  ...(o.stepsPerExecution !== undefined ? { stepsPerExecution: o.stepsPerExecution } : {}),
});

const newTrainer = (run: Run, phase: Phase, d: PhaseData, weighted: boolean): Promise<Trainer> =>
  run.graph && phase.strategy === 'fine-tune'
    ? GraphTrainer.create(run.graph, runTrainerOptions(run.o, run.cls.loss, weighted))
    : createTrainer(run.cls.model, {
        ...runTrainerOptions(run.o, run.cls.loss, weighted),
        engine: run.o.engine,
        from: phase.from,
        batchSize: run.batch,
        l2: l2Of(run, d),
        ...(run.o.lrDecay !== undefined && phase.strategy !== 'feature-extraction' ? { lrScale: blockRateScale(run.cls.model, run.o.lrDecay) } : {}),
      });

/** The range test on a throwaway trainer: the model's weights are left as they were. */
export async function sweep(run: Run, phase: Phase, d: PhaseData, test: RangeTestOptions = {}): Promise<RangeTest> {
  const trainer = await newTrainer(run, phase, d, false);
  try {
    return await rangeTest(trainer, d.batches, run.plan.task, run.plan.classNames.length, test);
  } finally {
    await trainer.dispose();
  }
}

/** The first phase on a frozen base: a notice when validation images nearly repeat training ones. */
export async function noticeLeaks(run: Run, phase: Phase, d: PhaseData): Promise<void> {
  const { o, cls, plan } = run;
  if (o.from || !d.trainData || !d.valData || (phase.from !== cls.layers.firstHead && !cls.onnx)) return;
  const channels = cls.onnx ? d.trainData.rowSize : (baseModel(cls.model).outputs[0].shape.at(-1) as number);
  const leak = await leakNotice({ files: plan.train, store: d.trainData }, { files: plan.validation, store: d.valData }, channels);
  if (leak) run.emit({ type: 'notice', message: leak });
}

/** The rate a range test suggests for a phase planned with `learningRate: 'auto'`. */
async function autoRate(run: Run, phase: Phase, p: number, d: PhaseData): Promise<number> {
  const found = await sweep(run, phase, d);
  run.emit({ type: 'notice', message: autoRateNotice(found, p) });
  return found.suggested;
}

/** The validation split with the trainer's weights; two classes: at the decision threshold (picked here under auto). */
async function scoreValidation(run: Run, trainer: Trainer, valData: FeatureStore): Promise<{ val: TrainResult['val']; threshold?: number }> {
  const { o, plan } = run;
  const { task, classNames } = plan;
  const v = await evaluateStore(trainer, valData, task, classNames.length, run.batch);
  const m = v.tally.metrics();
  const val: TrainResult['val'] = { loss: v.tally.meanLoss, accuracy: m.accuracy, ...(task === 'regression' ? { mae: m.mae, rmse: m.rmse } : {}) };
  if (task === 'regression') return { val };
  let threshold: number | undefined;
  if (task === 'binary' && o.threshold === 'auto')
    threshold = youdenThreshold(
      v.outputs,
      v.labels.map((l) => l === 1),
    );
  else if (task === 'binary') threshold = typeof o.threshold === 'number' ? o.threshold : DEFAULT_THRESHOLD;
  val.report = classificationReport(v.outputs, v.labels, classNames, threshold);
  return { val, ...(threshold !== undefined ? { threshold } : {}) };
}

/** What a phase leaves: its epochs, its rate, and (when it has one) the validation split scored with its weights. */
export interface PhaseResult {
  outcome: PhaseOutcome;
  lr: number;
  val?: TrainResult['val'];
  threshold?: number;
}

/** Trains one opened phase and leaves its weights in the model; closes the phase's data. */
export async function trainPhase(run: Run, phase: Phase, p: number, d: PhaseData): Promise<PhaseResult> {
  const { cls, plan } = run;
  let trainer: Trainer | undefined;
  try {
    const lr = phase.lr ?? (await autoRate(run, phase, p, d));
    const refit = refits(run, phase, p, d) ? layerWeights(cls.model.layers.slice(1)) : null;
    trainer = await newTrainer(run, phase, d, Boolean(plan.classWeights));
    const outcome = await runEpochs({
      trainer,
      phase: { ...phase, lr },
      index: p,
      batches: d.batches,
      count: d.count,
      valData: d.valFed,
      task: plan.task,
      classes: plan.classNames.length,
      batchSize: run.batch,
      classWeights: plan.classWeights,
      o: run.o,
      emit: run.emit,
      data: run.data,
      l2Objective: convexL2(run, d),
    });
    // The validation split with the weights kept (an interrupted first epoch keeps what came before).
    const scored = d.valFed && outcome.history.length ? await scoreValidation(run, trainer, d.valFed) : {};
    trainer.writeBack();
    if (refit && outcome.bestEpoch) trainer = await refitHead(run, phase, d, trainer, refit, outcome.history.slice(0, outcome.bestEpoch));
    if (d.standardizer) foldInto(outputDense(cls.model), d.standardizer);
    // A fine-tuned ONNX base: base.onnx becomes the prefix with the trained suffix.
    if (trainer instanceof GraphTrainer && cls.onnx) {
      const onnx = encodeModelValue(trainer.trainedBase());
      cls.onnx = { ...cls.onnx, onnx, sha256: createHash('sha256').update(onnx).digest('hex') };
    }
    return { outcome, lr, ...scored };
  } finally {
    await trainer?.dispose();
    await d.close();
  }
}
