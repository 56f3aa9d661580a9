// The seed's workflow in one function: a folder of labelled images in, a trained, evaluated classifier out.
// The recipe: plan the data, build the classifier, plan the phases; for each phase cache what stays frozen,
// run the epochs, keep the best weights; then score the validation split.
import path from 'node:path';
import { getApplication } from '../../applications/index.js';
import { describeAugment } from '../../data/augment.js';
import { initBackend } from '../../engine/backend.js';
import { TransferkitError } from '../../errors.js';
import { resolveBase } from '../../bases/resolve.js';
import { seededRandom } from '../../util/random.js';
import { AUTO_FALLBACK_EPOCHS, DEFAULT_BATCH_SIZE, DEFAULT_SEED, DEFAULT_STRATEGY } from '../defaults.js';
import { type Classifier, buildClassifier, cacheContext, savedClassifier } from '../model/build.js';
import { baseRecord } from '../model/onnx-base.js';
import type { ModelMetadata } from '../saved/saved-model.js';
import { planData } from './data-plan.js';
import type { RangeTest, RangeTestOptions } from './lr-find.js';
import type { TrainEvent, TrainOptions, TrainResult } from './options.js';
import { type Run, noticeLeaks, openPhase, sweep, trainPhase } from './phase.js';
import { type Phase, crossedCutOf, planPhases } from './phase-plan.js';

export type { EpochLog, PhaseLog, Task, TrainEvent, TrainOptions, TrainResult } from './options.js';

function checkNumbers(o: TrainOptions): void {
  const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  for (const [name, v, ok] of [
    ['epochs', o.epochs, o.epochs === undefined || o.epochs === 'auto' || positiveInt(o.epochs)],
    ['batch size', o.batchSize, o.batchSize === undefined || positiveInt(o.batchSize)],
    ['steps per execution', o.stepsPerExecution, o.stepsPerExecution === undefined || positiveInt(o.stepsPerExecution)],
    ['learning rate', o.learningRate, o.learningRate === undefined || o.learningRate === 'auto' || (Number.isFinite(o.learningRate) && o.learningRate > 0)],
  ] as const) {
    if (!ok)
      throw new TransferkitError(
        `${name} must be ${name === 'learning rate' ? 'a positive number or auto' : name === 'epochs' ? 'a positive integer or auto' : 'a positive integer'}; got ${v}`,
      );
  }
}

/**
 * The options with their base resolved as the CLI resolves it: an ONNX model named by `base` (a .onnx file, a
 * folder, a registry backbone) is read and cut, and a fine-tune says where it starts. A saved model (`from`) and
 * precomputed features bring their own.
 */
function withBase(o: TrainOptions): TrainOptions {
  if (o.from || o.precomputed) return o;
  const r = resolveBase({ ...o, base: o.onnxBase ?? o.base });
  return { ...o, strategy: r.strategy, ...(r.kind === 'onnx' ? { onnxBase: r.onnx } : {}) };
}

/** Plans the data, builds the classifier and plans its phases: what training and lr-find share. */
async function prepare(data: string, options: TrainOptions): Promise<{ run: Run; phases: Phase[] }> {
  const emit = (e: TrainEvent) => options.onEvent?.(e);
  checkNumbers(options);
  const o = withBase(options);
  const plan = await planData(data, o, emit);
  await initBackend();
  let cls: Classifier;
  if (o.from) ({ cls, task: plan.task } = savedClassifier(o.from, plan, o));
  else cls = await buildClassifier(plan, o, emit);
  const cut = cls.onnx ? o.onnxBase?.cut : undefined;
  const crossed = cls.onnx ? undefined : crossedCutOf(cls.model, o);
  if (crossed) emit({ type: 'notice', message: crossed.notice });
  const crossedCut = crossed?.cut;
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
    random: seededRandom((o.seed ?? DEFAULT_SEED) + 1),
    emit,
    featuresS: 0,
    cacheHits: 0,
  };
  return { run, phases };
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
  const { o, plan, cls, emit } = run;
  const { task, classNames } = plan;
  const history: TrainResult['history'] = [];
  const phaseLogs: TrainResult['phases'] = [];
  let trainS = 0;
  let val: TrainResult['val'] = { loss: null, accuracy: null };
  let threshold: number | undefined;
  let stopped: TrainResult['stopped'];
  for (const [p, phase] of phases.entries()) {
    if (stopped) break;
    const d = await openPhase(run, phase, p);
    if (p === 0) await noticeLeaks(run, phase, d);
    const t = performance.now();
    const r = await trainPhase(run, phase, p, d);
    trainS += (performance.now() - t) / 1000;
    const { outcome } = r;
    stopped = outcome.stopped;
    history.push(...outcome.history.map((h) => ({ ...h, phase: p, trainedFrom: phase.trainedFrom })));
    phaseLogs.push({
      phase: p,
      trainedFrom: phase.trainedFrom,
      epochs: phase.epochs,
      learningRate: r.lr,
      schedule: phase.schedule,
      stoppedAt: outcome.stoppedAt,
      bestEpoch: outcome.bestEpoch,
    });
    if (r.val) val = r.val;
    if (r.threshold !== undefined) threshold = r.threshold;
  }
  if (threshold !== undefined && o.threshold === 'auto')
    emit({ type: 'notice', message: `threshold auto: ${threshold.toFixed(4)} on p(${classNames[1]}) maximises Youden's J on the validation split` });
  return {
    model: cls.model,
    task,
    classNames,
    strategy: o.strategy ?? DEFAULT_STRATEGY,
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
    const training = { ...o, from: undefined, onEvent: undefined, signal: undefined, callbacks: undefined };
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
    training: { ...o, onEvent: undefined, signal: undefined, callbacks: undefined, precomputed: o.precomputed?.file, onnxBase: undefined },
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
