// The seed's workflow in one function: a folder of labelled images in, a trained, evaluated classifier out.
// The recipe: plan the data, build the classifier, plan the phases; for each phase cache what stays frozen,
// run the epochs, keep the best weights; then score the validation split.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { getApplication } from '../../applications/index.js';
import { describeAugment } from '../../data/augment.js';
import type { LabelledFile } from '../../data/folders.js';
import { optimizerSpec } from '../../engine/optimizers.js';
import { type Predictor, createPredictor } from '../../engine/predictor.js';
import { initBackend } from '../../engine/backend.js';
import { createTrainer } from '../../engine/trainer.js';
import type { Trainer } from '../../engine/training.js';
import { TransferkitError } from '../../errors.js';
import { seededRandom } from '../../util/random.js';
import { type Classifier, buildClassifier, cacheContext, savedClassifier } from '../model/build.js';
import { type DataPlan, planData } from './data-plan.js';
import { type Batch, type Context, augmentedBatches, cacheFeatures, cachedBatches } from '../features/cache.js';
import type { FeatureStore } from '../features/store.js';
import { type PhaseOutcome, evaluateStore, runEpochs } from './epoch-loop.js';
import { type RangeTest, type RangeTestOptions, rangeTest } from './lr-find.js';
import { classificationReport, youdenThreshold } from '../evaluate/metrics.js';
import { leakNotice } from './leaks.js';
import type { TrainEvent, TrainOptions, TrainResult } from './options.js';
import { AUTO_FALLBACK_EPOCHS, DEFAULT_BATCH_SIZE, type Phase, blockRateScale, planPhases } from './phase-plan.js';
import type { ModelMetadata } from '../saved/saved-model.js';
import { applyStrategy } from '../strategy/strategies.js';
import { baseRecord } from '../model/onnx-base.js';
import { type FineTuneGraph, GraphTrainer, fineTuneGraph } from '../../engine/graph-trainer.js';
import { graphPredictor } from '../../engine/graph-predictor.js';
import { encodeModelValue } from '../../engine/onnx/proto.js';
import { isSingleValueCut } from '../../engine/onnx/walk.js';
import { baseModel } from '../../model/introspect.js';

export type { EpochLog, PhaseLog, Task, TrainEvent, TrainOptions, TrainResult } from './options.js';

/** Everything the phases share. */
interface Run {
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
interface PhaseData {
  trainData: FeatureStore | null;
  valData: FeatureStore | null;
  prefix: Predictor | null;
  batches(): AsyncGenerator<Batch>;
  count: number;
  close(): Promise<void>;
}

function checkNumbers(o: TrainOptions): void {
  const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  for (const [name, v, ok] of [
    ['epochs', o.epochs, o.epochs === undefined || o.epochs === 'auto' || positiveInt(o.epochs)],
    ['batch size', o.batchSize, o.batchSize === undefined || positiveInt(o.batchSize)],
    ['learning rate', o.learningRate, o.learningRate === undefined || o.learningRate === 'auto' || (Number.isFinite(o.learningRate) && o.learningRate > 0)],
  ] as const) {
    if (!ok)
      throw new TransferkitError(
        `${name} must be ${name === 'learning rate' ? 'a positive number or auto' : name === 'epochs' ? 'a positive integer or auto' : 'a positive integer'}; got ${v}`,
      );
  }
  if (o.onnxBase && o.strategy === 'full') throw new TransferkitError('an ONNX base trains by feature-extraction or fine-tune (from a cut), not full');
  if (o.onnxBase && o.strategy === 'fine-tune' && !o.onnxBase.cut)
    throw new TransferkitError(
      'fine-tuning an ONNX base needs where to cut: --unfreeze-last-blocks N or --unfreeze-from BLOCK (see transferkit layers MODEL.onnx)',
    );
  if (o.strategy === 'fine-tune' && !o.unfreezeFrom && !o.onnxBase)
    throw new TransferkitError('the fine-tune strategy needs the layer to unfreeze from (--unfreeze-from LAYER; see transferkit layers)');
}

/** Plans the data, builds the classifier and plans its phases: what training and lr-find share. */
async function prepare(data: string, o: TrainOptions): Promise<{ run: Run; phases: Phase[] }> {
  const emit = (e: TrainEvent) => o.onEvent?.(e);
  checkNumbers(o);
  const plan = await planData(data, o, emit);
  await initBackend();
  let cls: Classifier;
  if (o.from) ({ cls, task: plan.task } = savedClassifier(o.from, plan, o));
  else cls = await buildClassifier(plan, o, emit);
  const cut = cls.onnx ? o.onnxBase?.cut : undefined;
  const crossedCut = !cls.onnx && o.strategy === 'fine-tune' && o.unfreezeFrom && !isSingleValueCut(cls.model, o.unfreezeFrom) ? o.unfreezeFrom : undefined;
  if (crossedCut)
    emit({
      type: 'notice',
      message: `skip connections cross the cut at ${crossedCut} (its layers also read earlier values): the frozen part runs on every batch of the fine-tune phase, not from a cache`,
    });
  // An ONNX base fine-tunes from its cut value (what the phase's cache holds).
  const phases = planPhases(o, { ...cls.layers, crossedCut }, { train: plan.train.length, validation: plan.validation.length }).map((p) =>
    cut && p.strategy === 'fine-tune' ? { ...p, from: cut.value, trainedFrom: cut.value } : p,
  );
  if (o.augment)
    emit({
      type: 'notice',
      message: `augmenting training images (${describeAugment(o.augment)}): the frozen part runs on every training batch, since its outputs change with each draw`,
    });
  if (!plan.validation.length && typeof o.epochs !== 'number' && phases.some((p) => p.onCache)) {
    emit({ type: 'notice', message: `epochs auto needs a validation split to stop on: training a fixed ${AUTO_FALLBACK_EPOCHS} epochs instead` });
  }
  const preprocessing = o.from ? o.from.metadata.preprocessing : cls.onnx ? cls.onnx.base.preprocessing : getApplication(o.base).spec.preprocessing;
  const c = cacheContext(cls, o, plan.skipped, preprocessing);
  const run: Run = {
    o,
    data,
    plan,
    cls,
    c,
    batch: o.batchSize ?? DEFAULT_BATCH_SIZE,
    random: seededRandom((o.seed ?? 1337) + 1),
    emit,
    featuresS: 0,
    cacheHits: 0,
  };
  return { run, phases };
}

/** Sets the phase's trainable layers and readies its data. */
async function openPhase(run: Run, phase: Phase, p: number): Promise<PhaseData> {
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
    ? await createPredictor(cls.model, { engine: o.engine, until: phase.from })
    : o.augment && cls.onnx
      ? (cutPrefix ?? cls.onnx.predictor)
      : null;
  const valData = plan.validation.length ? await cached(plan.validation) : null;
  run.featuresS += (performance.now() - t) / 1000;
  if (trainData?.labels.length === 0) throw new TransferkitError(`${run.data}: no training image could be decoded`);
  return {
    trainData,
    valData,
    prefix,
    batches: () => (trainData ? cachedBatches(trainData, run.batch, run.random) : augmentedBatches(c, plan.train, prefix, run.batch, run.random)),
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

const newTrainer = (run: Run, phase: Phase, weighted: boolean): Promise<Trainer> =>
  run.graph && phase.strategy === 'fine-tune'
    ? GraphTrainer.create(run.graph, { loss: run.cls.loss, optimizer: optimizerSpec(run.o.optimizer), seed: run.o.seed, weighted })
    : createTrainer(run.cls.model, {
        engine: run.o.engine,
        from: phase.from,
        loss: run.cls.loss,
        optimizer: optimizerSpec(run.o.optimizer),
        seed: run.o.seed,
        weighted,
        ...(run.o.lrDecay !== undefined && phase.strategy !== 'feature-extraction' ? { lrScale: blockRateScale(run.cls.model, run.o.lrDecay) } : {}),
      });

/** The range test on a throwaway trainer: the model's weights are left as they were. */
async function sweep(run: Run, phase: Phase, d: PhaseData, test: RangeTestOptions = {}): Promise<RangeTest> {
  const trainer = await newTrainer(run, phase, false);
  try {
    return await rangeTest(trainer, d.batches, run.plan.task, run.plan.classNames.length, test);
  } finally {
    await trainer.dispose();
  }
}

/**
 * Builds the base and head, trains by the strategy's phases, and returns the trained model with its history.
 * `data` is a folder of class folders (classification) or a CSV of file,target rows (regression).
 */
export async function trainImageClassifier(data: string, o: TrainOptions): Promise<TrainResult> {
  const start = performance.now();
  const { run, phases } = await prepare(data, o);
  try {
    return await trainPhases(run, phases, start);
  } finally {
    await run.cls.onnx?.predictor.dispose();
  }
}

async function trainPhases(run: Run, phases: Phase[], start: number): Promise<TrainResult> {
  const { o, data, plan, cls, emit } = run;
  const { task, classNames } = plan;
  const classes = classNames.length;
  const history: TrainResult['history'] = [];
  const phaseLogs: TrainResult['phases'] = [];
  let trainS = 0;
  let val: TrainResult['val'] = { loss: null, accuracy: null };
  let threshold: number | undefined;
  let stopped: TrainResult['stopped'];
  for (const [p, phase] of phases.entries()) {
    if (stopped) break;
    const d = await openPhase(run, phase, p);
    if (p === 0 && !o.from && d.trainData && d.valData && (phase.from === cls.layers.firstHead || cls.onnx)) {
      const channels = cls.onnx ? d.trainData.rowSize : (baseModel(cls.model).outputs[0].shape.at(-1) as number);
      const leak = await leakNotice({ files: plan.train, store: d.trainData }, { files: plan.validation, store: d.valData }, channels);
      if (leak) emit({ type: 'notice', message: leak });
    }
    const t = performance.now();
    let trainer: Trainer | undefined;
    try {
      let lr = phase.lr;
      if (lr === null) {
        const found = await sweep(run, phase, d);
        lr = found.suggested;
        emit({
          type: 'notice',
          message: `learning rate auto: the range test suggests ${lr.toPrecision(2)} for phase ${p + 1} (lowest loss at ${found.minimum.toPrecision(2)}, steepest fall at ${found.steepest.toPrecision(2)})`,
        });
      }
      trainer = await newTrainer(run, phase, Boolean(plan.classWeights));
      const outcome: PhaseOutcome = await runEpochs({
        trainer,
        phase: { ...phase, lr },
        index: p,
        batches: d.batches,
        count: d.count,
        valData: d.valData,
        task,
        classes,
        batchSize: run.batch,
        classWeights: plan.classWeights,
        o,
        emit,
        data,
      });
      stopped = outcome.stopped;
      history.push(...outcome.history.map((h) => ({ ...h, phase: p, trainedFrom: phase.trainedFrom })));
      phaseLogs.push({
        phase: p,
        trainedFrom: phase.trainedFrom,
        epochs: phase.epochs,
        learningRate: lr,
        schedule: phase.schedule,
        stoppedAt: outcome.stoppedAt,
        bestEpoch: outcome.bestEpoch,
      });
      // The validation split with the weights kept (an interrupted first epoch keeps what came before).
      if (d.valData && outcome.history.length) {
        const v = await evaluateStore(trainer, d.valData, task, classes, run.batch);
        const m = v.tally.metrics();
        val = { loss: v.tally.meanLoss, accuracy: m.accuracy, ...(task === 'regression' ? { mae: m.mae, rmse: m.rmse } : {}) };
        if (task !== 'regression') {
          if (task === 'binary' && o.threshold === 'auto')
            threshold = youdenThreshold(
              v.outputs,
              v.labels.map((l) => l === 1),
            );
          else if (task === 'binary') threshold = typeof o.threshold === 'number' ? o.threshold : 0.5;
          val.report = classificationReport(v.outputs, v.labels, classNames, threshold);
        }
      }
      trainer.writeBack();
      // A fine-tuned ONNX base: base.onnx becomes the prefix with the trained suffix.
      if (trainer instanceof GraphTrainer && cls.onnx) {
        const onnx = encodeModelValue(trainer.trainedBase());
        cls.onnx = { ...cls.onnx, onnx, sha256: createHash('sha256').update(onnx).digest('hex') };
      }
    } finally {
      await trainer?.dispose();
      await d.close();
    }
    trainS += (performance.now() - t) / 1000;
  }
  if (threshold !== undefined && o.threshold === 'auto')
    emit({ type: 'notice', message: `threshold auto: ${threshold.toFixed(4)} on p(${classNames[1]}) maximises Youden's J on the validation split` });
  return {
    model: cls.model,
    task,
    classNames,
    strategy: o.strategy ?? 'feature-extraction',
    head: cls.head,
    inputShape: o.from ? o.from.metadata.inputShape : [cls.size, cls.size, cls.raster ? cls.raster.indices.length : cls.gray ? 1 : 3],
    history,
    phases: phaseLogs,
    val,
    ...(threshold !== undefined ? { threshold } : {}),
    ...(plan.classWeights ? { classWeights: plan.classWeights } : {}),
    skipped: run.c.skipped,
    emptyClasses: plan.emptyClasses,
    timings: { featuresS: run.featuresS, trainS, totalS: (performance.now() - start) / 1000 },
    counts: { train: plan.train.length, validation: plan.validation.length },
    cacheHits: run.cacheHits,
    ...(stopped ? { stopped } : {}),
    ...(cls.raster && cls.firstConv ? { bands: { ...cls.raster, firstConv: cls.firstConv } } : {}),
    ...(cls.onnx ? { onnxBase: { onnx: cls.onnx.onnx, record: baseRecord(cls.onnx) } } : {}),
  };
}

/** `transferkit lr-find`: the range test for the strategy's first phase, on the same data plan and cache as train. */
export async function findLearningRate(
  data: string,
  o: TrainOptions,
  test: RangeTestOptions = {},
): Promise<RangeTest & { phase: { from: string; strategy: string } }> {
  const { run, phases } = await prepare(data, o);
  const [phase] = phases;
  try {
    const d = await openPhase(run, phase, 0);
    try {
      return { ...(await sweep(run, phase, d, test)), phase: { from: phase.from, strategy: phase.strategy } };
    } finally {
      await d.close();
    }
  } finally {
    await run.cls.onnx?.predictor.dispose();
  }
}

/** What a trained model's transferkit.json records: everything needed to use it, and how it was made. */
export function trainedModelMetadata(r: TrainResult, o: TrainOptions, data: string): ModelMetadata {
  if (o.from) {
    const from = o.from.metadata;
    const dataset = { dir: path.resolve(data), train: r.counts.train, validation: r.counts.validation, skipped: r.skipped.length };
    const training = { ...o, from: undefined, onEvent: undefined, signal: undefined };
    return {
      ...from,
      classNames: r.classNames,
      task: r.task,
      strategy: r.strategy,
      training,
      history: r.history,
      val: r.val,
      dataset,
      fineTunedFrom: from.source ?? from.base,
    };
  }
  const record = r.onnxBase?.record;
  const spec = record ? null : getApplication(o.base).spec;
  return {
    format: 'transferkit-model',
    version: 1,
    base: spec
      ? { id: spec.id, ...(o.alpha !== undefined ? { alpha: o.alpha } : {}), weights: o.weights === undefined ? 'imagenet' : o.weights }
      : { id: `onnx:${record?.source.id}`, weights: record?.source.path ?? null },
    inputShape: r.inputShape,
    // An imported base scales its pixels inside its graph: the images go in as they are (0–255).
    preprocessing: spec ? spec.preprocessing : 'none',
    ...(record ? { onnxBase: record } : {}),
    classNames: r.classNames,
    task: r.task,
    head: r.head,
    strategy: r.strategy,
    training: { ...o, onEvent: undefined, signal: undefined, precomputed: o.precomputed?.file, onnxBase: undefined },
    history: r.history,
    phases: r.phases,
    val: r.val,
    ...(r.threshold !== undefined ? { threshold: r.threshold } : {}),
    dataset: { dir: path.resolve(data), train: r.counts.train, validation: r.counts.validation, skipped: r.skipped.length },
    ...(o.dicom ? { dicom: o.dicom } : {}),
    ...(r.bands
      ? {
          bands: {
            indices: r.bands.indices,
            roles: r.bands.roles,
            scale: r.bands.scale,
            adaptation: r.bands.adaptation,
            firstConv: r.bands.firstConv,
            ...(r.bands.names ? { names: r.bands.names } : {}),
          },
        }
      : {}),
  };
}
