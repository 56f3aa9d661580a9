// Training in the page with Node's code: the same head, phase plan, strategies, compiled training step (ONNX
// Runtime Web runs the graph onnxruntime-node runs), epoch loop, callbacks and validation scoring. Only the
// images' source differs: picked files decoded by the browser, their base features kept in memory.
import type * as tfl from '@tensorflow/tfjs-layers';
import { applicationInfo } from '../applications/common.js';
import { splitFiles } from '../data/split.js';
import { optimizerSpec } from '../engine/optimizers.js';
import { createTrainer } from '../engine/trainer.js';
import type { Trainer } from '../engine/training.js';
import type { FeatureStore } from '../train/features/memory-store.js';
import { baseModel } from '../model/introspect.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_SEED, DEFAULT_THRESHOLD, DEFAULT_VALIDATION_SPLIT } from '../train/defaults.js';
import { classificationReport } from '../train/evaluate/metrics.js';
import { cachedBatches } from '../train/features/batches.js';
import { evaluateStore, runEpochs } from '../train/fit/epoch-loop.js';
import { autoRateNotice, rangeTest } from '../train/fit/lr-find.js';
import type { Task, TrainEvent, TrainOptions, TrainResult } from '../train/fit/options.js';
import { type Phase, blockRateScale, crossedCutOf, planPhases } from '../train/fit/phase-plan.js';
import { classWeightsNotice, classWeightsOf } from '../train/fit/class-weights.js';
import { applyStrategy } from '../train/strategy/strategies.js';
import { checkFineTuneStart } from '../bases/fine-tune-start.js';
import { TransferkitError } from '../errors.js';
import type { LabelledFile } from '../data/folders.js';
import { DEFAULT_HEAD_DROPOUT, addHead } from '../train/model/head.js';
import { lossOf, outputLayer } from '../train/model/task-output.js';
import type { PickedFolder } from './images.js';
import type { FeatureCache } from './row-sinks.js';
import { type TrainBase, phaseFeatures } from './phase-features.js';
import { type CheckpointStore, checkRun, runKey } from './checkpoints.js';
import { RunRecorder, countedRandom } from './resume.js';

/** The options a page sets: Node's, less those about files, engines and fine-tuning. */
export type BrowserTrainOptions = Pick<
  TrainOptions,
  | 'seed'
  | 'validationSplit'
  | 'batchSize'
  | 'epochs'
  | 'fineTuneEpochs'
  | 'maxEpochs'
  | 'schedule'
  | 'onEvent'
  | 'signal'
  | 'callbacks'
  | 'earlyStoppingPatience'
  | 'restoreBest'
  | 'unfreezeFrom'
  | 'classWeight'
  | 'lrDecay'
> & {
  /** A rate, or 'auto': a range test picks each phase's (Node's `learningRate`). */
  learningRate?: number | 'auto';
  strategy?: 'feature-extraction' | 'fine-tune';
  /** Where the base's features wait between epochs: 'memory' (default) or 'opfs' (in a worker). */
  featureStore?: FeatureCache;
  /** Where to keep a checkpoint after each epoch (`opfsCheckpoints()`: the page's Origin Private File System). */
  checkpoints?: CheckpointStore;
  /** Continue from the latest checkpoint in `checkpoints` (of this run: the same files, split and options). */
  resume?: boolean;
};

/** The trained model, its history and the validation split's scores (as in Node's TrainResult). */
export interface BrowserTrainResult extends Pick<TrainResult, 'classNames' | 'task' | 'history' | 'val' | 'counts' | 'head' | 'strategy' | 'stopped'> {
  /** The base with its trained head. */
  model: tfl.Sequential;
  /** Each phase's first trained layer and its validation scores with the weights it kept. */
  phases: Array<{ trainedFrom: string; val?: TrainResult['val'] }>;
  /** Wall time, and the time in the epochs (the base's features excluded), in seconds. */
  timings: { totalS: number; trainS: number };
}

/** The validation split's loss and classification report with the trainer's weights. */
async function scoreValidation(trainer: Trainer, valData: FeatureStore, task: Task, classNames: string[], batch: number): Promise<TrainResult['val']> {
  const v = await evaluateStore(trainer, valData, task, classNames.length, batch);
  const report = classificationReport(v.outputs, v.labels, classNames, task === 'binary' ? DEFAULT_THRESHOLD : undefined);
  return { loss: v.tally.meanLoss, accuracy: report.accuracy, report };
}

/** One phase: its features (the frozen part's output, computed once), its epochs, its weights left in the model. */
async function trainPhase(
  tb: TrainBase,
  phase: Phase & { index: number },
  split: { train: LabelledFile[]; validation: LabelledFile[] },
  folder: PickedFolder,
  o: TrainOptions & { task: Task; random: () => number; featureStore?: FeatureCache; recorder?: RunRecorder; classWeights?: number[] },
): Promise<{ history: TrainResult['history']; val?: TrainResult['val']; stopped?: TrainResult['stopped']; trainS: number }> {
  const [{ classNames }, { task }] = [folder, o];
  const emit = (e: TrainEvent) => o.onEvent?.(e);
  const batch = o.batchSize ?? DEFAULT_BATCH_SIZE;
  const { model } = tb;
  const runner = await tb.runner?.(phase);
  // As in Node: a phase with its own graph trains it there; in the Keras model only the head then.
  applyStrategy(model, runner ? 'feature-extraction' : phase.strategy, phase.strategy === 'fine-tune' && !runner ? o.unfreezeFrom : undefined);
  const { trainData, valData } = await phaseFeatures(tb, phase, runner, split, folder, { ...o, batch, emit });
  // As in Node: class weights in the loss, and discriminative rates (lrDecay) where base layers train.
  const newTrainer = (weighted: boolean) =>
    runner?.trainer({ weighted, seed: o.seed }) ??
    createTrainer(model, {
      engine: 'ort',
      from: phase.from,
      loss: lossOf(task, {}),
      optimizer: optimizerSpec(undefined),
      seed: o.seed,
      weighted,
      ...(o.lrDecay !== undefined && phase.strategy !== 'feature-extraction' ? { lrScale: blockRateScale(model, o.lrDecay) } : {}),
    });
  const batches = () => cachedBatches(trainData, batch, o.random);
  // learningRate 'auto': Node's range test on a throwaway trainer picks the phase's rate.
  if (phase.lr === null) {
    const sweep = await newTrainer(false);
    try {
      const found = await rangeTest(sweep, batches, task, classNames.length);
      emit({ type: 'notice', message: autoRateNotice(found, phase.index) });
      phase = { ...phase, lr: found.suggested };
    } finally {
      await sweep.dispose();
    }
  }
  const trainer = await newTrainer(Boolean(o.classWeights));
  const t0 = performance.now();
  try {
    const resume = o.recorder?.resumeOf(phase.index);
    if (resume) {
      trainer.restore(resume.current);
      trainer.loadState?.(resume.state);
    }
    const outcome = await runEpochs({
      ...(resume ? { resume: resume.loop } : {}),
      ...(o.recorder ? { onCheckpoint: o.recorder.phaseHook(phase.index, model, trainer) } : {}),
      trainer,
      phase: { ...phase, lr: phase.lr as number },
      index: phase.index,
      batches,
      count: split.train.length,
      valData,
      task,
      classes: classNames.length,
      batchSize: batch,
      ...(o.classWeights ? { classWeights: o.classWeights } : {}),
      o,
      emit,
      data: 'the picked folder',
    });
    const val = valData && outcome.history.length ? await scoreValidation(trainer, valData, task, classNames, batch) : undefined;
    trainer.writeBack();
    runner?.finish?.(trainer);
    const history = outcome.history.map((h) => ({ ...h, phase: phase.index, trainedFrom: phase.trainedFrom }));
    const trainS = (performance.now() - t0) / 1000;
    return { history, trainS, ...(val ? { val } : {}), ...(outcome.stopped ? { stopped: outcome.stopped } : {}) };
  } finally {
    await trainer.dispose();
    await trainData.close();
    await valData?.close();
  }
}

/** What makes a run this run: a checkpoint resumes only the same files, split, options and base. */
function runKeyOf(base: Record<string, unknown>, folder: PickedFolder, o: BrowserTrainOptions): string {
  const { onEvent, signal, callbacks, checkpoints, resume, featureStore, ...options } = o;
  const files = folder.files.map((f) => [f.file, f.label, folder.blobs.get(f.file)?.size]);
  return runKey({ ...base, classNames: folder.classNames, files, options });
}

/** The run's checkpoints when the options ask for them, continuing the latest with `resume`. */
async function recorderOf(o: BrowserTrainOptions, key: string, random: ReturnType<typeof countedRandom>): Promise<RunRecorder | undefined> {
  if (!o.checkpoints) {
    if (o.resume) throw new TransferkitError('resume needs the checkpoints to resume from (the checkpoints option)');
    return undefined;
  }
  const from = o.resume ? await o.checkpoints.latest() : undefined;
  if (o.resume && !from) throw new TransferkitError('no checkpoint kept in this browser to resume from: train afresh');
  if (!from) await o.checkpoints.clear();
  const c = from && checkRun(from, key);
  if (c) o.onEvent?.({ type: 'notice', message: `resuming from the checkpoint after phase ${c.phase + 1} epoch ${c.loop.history.at(-1)?.epoch ?? 0}` });
  return new RunRecorder(o.checkpoints, key, random, c ? c.finished : { history: [], phases: [] }, c);
}

/**
 * Trains a new head on `base` over the picked folder, and with `strategy: 'fine-tune'` the base from
 * `unfreezeFrom` after it: Node's split (the same seed holds out the same images), Node's default head and phase
 * plan, and the validation split scored after each phase. With `checkpoints`, the run is kept after every epoch
 * and `resume` continues it from there (after a reload: the same files picked again).
 */
export function trainClassifier(base: tfl.LayersModel, folder: PickedFolder, o: BrowserTrainOptions = {}): Promise<BrowserTrainResult> {
  checkFineTuneStart(o.strategy, o.unfreezeFrom);
  const mode = applicationInfo(baseModel(base))?.spec.preprocessing ?? 'none';
  const firstBase = base.layers.find((l) => l.getClassName() !== 'InputLayer')?.name as string;
  return trainOn(folder, o, (want) => {
    const head = `gap, dropout:${DEFAULT_HEAD_DROPOUT.zoo}, dense:${want.units}:${want.activation}`;
    const model = addHead(base, head, { seed: o.seed ?? DEFAULT_SEED });
    const key = { base: base.name, shape: base.inputs[0].shape, weights: base.countParams() };
    return { model, head, size: base.inputs[0].shape[1] as number, mode, key, layers: { firstHead: model.layers[1].name, firstBase, newFirstConv: null } };
  });
}

/** A run over the picked folder on the base `make` puts the task's head on (a Keras base, or an ONNX base's features). */
export async function trainOn(
  folder: PickedFolder,
  o: BrowserTrainOptions,
  make: (want: ReturnType<typeof outputLayer>) => TrainBase | Promise<TrainBase>,
  cut?: string,
): Promise<BrowserTrainResult> {
  const { classNames } = folder;
  const classes = classNames.length;
  const task: Task = classes === 2 ? 'binary' : 'categorical';
  const split = splitFiles(folder.files, o.validationSplit ?? DEFAULT_VALIDATION_SPLIT, o.seed ?? DEFAULT_SEED, 'the picked folder');
  const tb = await make(outputLayer(task, classes));
  const { model, head } = tb;
  const strategy = o.strategy ?? 'feature-extraction';
  const classWeights = classWeightsOf(o.classWeight, { task, classNames, train: split.train });
  if (classWeights) o.onEvent?.({ type: 'notice', message: classWeightsNotice(classNames, classWeights) });
  // One shuffle for the whole run, as in Node (its draws counted: a resumed run skips as many).
  const random = countedRandom((o.seed ?? DEFAULT_SEED) + 1);
  const recorder = await recorderOf(o, runKeyOf(tb.key, folder, o), random);
  const options = { ...o, base: model.name, strategy, task, random: random.next, recorder, ...(classWeights ? { classWeights } : {}) };
  // As in Node: a cut that skip connections cross trains from the base's input, the frozen part run on every batch;
  // an ONNX base fine-tunes from its cut value (what the phase's cache holds).
  const crossed = cut ? undefined : crossedCutOf(model, options);
  if (crossed) o.onEvent?.({ type: 'notice', message: crossed.notice });
  // (Node plans with the options as given: an ONNX base's `unfreezeFrom` is its block, or none with lastBlocks.)
  const phases = planPhases(
    options,
    { ...tb.layers, crossedCut: crossed?.cut },
    {
      train: split.train.length,
      validation: split.validation.length,
    },
  ).map((p) => (cut && p.strategy === 'fine-tune' ? { ...p, from: cut, trainedFrom: cut } : p));
  const t0 = performance.now();
  const { history, phases: scored } = recorder?.finished ?? { history: [], phases: [] };
  let val: TrainResult['val'] = [...scored].reverse().find((p) => p.val)?.val ?? { loss: null, accuracy: null };
  let stopped: TrainResult['stopped'];
  let trainS = 0;
  const first = recorder?.restoreRun(model) ?? 0;
  // As in Node: a phase cut short (o.signal, a loss that became NaN) ends the run with the weights it kept.
  for (const [index, phase] of phases.entries()) {
    if (stopped) break;
    if (index < first) continue;
    const r = await trainPhase(tb, { ...phase, index }, split, folder, options);
    history.push(...r.history);
    trainS += r.trainS;
    if (r.val) val = r.val;
    scored.push({ trainedFrom: phase.trainedFrom, ...(r.val ? { val: r.val } : {}) });
    stopped = r.stopped;
  }
  await o.checkpoints?.clear();
  return {
    model,
    classNames,
    task,
    head,
    strategy: options.strategy,
    history,
    val,
    phases: scored,
    counts: { train: split.train.length, validation: split.validation.length },
    ...(stopped ? { stopped } : {}),
    timings: { totalS: (performance.now() - t0) / 1000, trainS },
  };
}
