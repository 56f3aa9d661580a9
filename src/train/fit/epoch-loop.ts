// The epoch loop of one phase: steps over shuffled batches at the schedule's rate, a validation pass per epoch,
// and the callbacks after each (early stopping, reducing the rate, restoring the best weights: callbacks.ts).
import { type Trainer, takeSteps } from '../../engine/training.js';
import { AUTO_MAX_EPOCHS, AUTO_PATIENCE, AUTO_REDUCE_PATIENCE } from '../defaults.js';
import {
  CallbackList,
  type Monitor,
  type TrainCallback,
  VALIDATION_LOSS,
  earlyStopping,
  epochCheckpoint,
  reduceLrOnPlateau,
  restoreBestWeights,
} from './callbacks.js';
import { TransferkitError } from '../../errors.js';
import type { Batch } from '../features/cache.js';
import type { FeatureStore } from '../features/store.js';
import { Tally, targets } from '../evaluate/metrics.js';
import type { EpochLog, StoppingOptions, Task, TrainEvent, TrainOptions, TrainResult } from './options.js';
import type { Phase } from './phase-plan.js';
import { type ScheduleSpec, learningRateAt } from './schedule.js';
import { groupSize, groupsOf, stepBatch } from './step-groups.js';

export interface PhaseRun {
  trainer: Trainer;
  phase: Phase & { lr: number };
  index: number;
  /** One epoch of shuffled training batches. */
  batches(): AsyncGenerator<Batch>;
  /** Training examples (for the number of steps). */
  count: number;
  valData: FeatureStore | null;
  task: Task;
  classes: number;
  batchSize: number;
  classWeights?: number[];
  o: TrainOptions;
  emit(e: TrainEvent): void;
  /** The dataset, for messages. */
  data: string;
  /**
   * Set for a convex head (one Dense on standardised cached rows with an L2 kernel penalty): under auto the phase
   * then trains to convergence of its regularised training loss, as a logistic regression solver does.
   */
  l2Objective?: number;
  /** Continue a phase from a checkpoint: its epochs are replayed through the callbacks, then the next one runs. */
  resume?: LoopResume;
  /** Called after each epoch's callbacks, with where the loop is (to save a checkpoint). */
  onCheckpoint?(at: LoopCheckpoint): Promise<void>;
}

/** Where the epoch loop is after an epoch: enough, with the trainer's weights and state, to continue it. */
export interface LoopCheckpoint {
  history: EpochLog[];
  /** Steps taken (the schedule's position). */
  step: number;
  /** A callback ended the phase after this epoch. */
  stop: boolean;
}

export interface LoopResume extends LoopCheckpoint {
  /** Weights the replayed callbacks see at an epoch, where the checkpoint kept them (else the current ones). */
  weightsAt(epoch: number): Float32Array[] | undefined;
}

export interface PhaseOutcome {
  history: EpochLog[];
  /** The last epoch run, and the epoch whose weights the phase kept (null: the last one's). */
  stoppedAt: number;
  bestEpoch: number | null;
  stopped?: TrainResult['stopped'];
}

/** Loss, metrics and outputs on a cached split with the trainer's current weights. */
export async function evaluateStore(
  trainer: Trainer,
  data: FeatureStore,
  task: Task,
  classes: number,
  batch: number,
): Promise<{ tally: Tally; outputs: Float32Array; labels: number[] }> {
  const tally = new Tally(task, classes);
  const x = new Float32Array(batch * data.rowSize);
  const outputs: Float32Array[] = [];
  for (let s = 0; s < data.labels.length; s += batch) {
    const idx = Array.from({ length: Math.min(batch, data.labels.length - s) }, (_, i) => s + i);
    await data.read(idx, x);
    const labels = idx.map((k) => data.labels[k]);
    const r = await trainer.evaluate(x.subarray(0, idx.length * data.rowSize), targets(labels, task, classes), labels.length);
    tally.add(r.loss, r.output, labels);
    outputs.push(r.output.slice());
  }
  const all = new Float32Array(outputs.reduce((n, o) => n + o.length, 0));
  let at = 0;
  for (const o of outputs) {
    all.set(o, at);
    at += o.length;
  }
  return { tally, outputs: all, labels: data.labels.slice() };
}

/** A lower objective must be this fraction below the best so far to count (sklearn stops on a tolerance too). */
export const CONVERGENCE_TOL = 1e-3;

/**
 * The training loss plus the L2 penalty on the kernel: the objective a convex head minimises. The head is one
 * Dense layer, so its first trained weight is the kernel.
 */
export function trainingObjective(l2: number): Monitor {
  return {
    name: 'regularised training loss',
    tol: CONVERGENCE_TOL,
    value: (ctx) => ctx.log.loss + l2 * ctx.weights()[0].reduce((s, w) => s + w * w, 0),
  };
}

/**
 * The callbacks a phase gets from its options, before the user's: the decisions today's Keras defaults make. Under
 * auto they watch the validation loss, or for a convex head (`l2Objective`) its regularised training loss.
 */
export function phaseCallbacks(o: StoppingOptions, phase: Phase, l2Objective?: number): TrainCallback[] {
  const auto = phase.epochs === 'auto';
  const patience = o.earlyStoppingPatience ?? (auto ? AUTO_PATIENCE : undefined);
  const reducePatience = o.reduceLrPatience ?? (auto && phase.strategy === 'feature-extraction' ? AUTO_REDUCE_PATIENCE : undefined);
  const monitor = auto && l2Objective !== undefined ? trainingObjective(l2Objective) : VALIDATION_LOSS;
  // In this order: a rate cut is announced before a stop in the same epoch, the cap before the restore.
  return [
    epochCheckpoint(),
    ...(reducePatience ? [reduceLrOnPlateau({ patience: reducePatience, monitor })] : []),
    ...(patience ? [earlyStopping({ patience, monitor })] : []),
    ...(auto || o.restoreBest ? [restoreBestWeights({ ...monitor, tol: 0 })] : []),
  ];
}

/** Where the loop is: steps taken and the callbacks' rate scale. */
interface LoopState {
  step: number;
  lrScale: number;
}

/**
 * One pass over the training batches at the schedule's rate; a reason when it was cut short. Batches go to the
 * trainer in groups of its `stepsPerRun` (one at a time without it), each at the rate of its own step; after a
 * group, each of its batches in turn is checked for a loss that is not a number and for the abort signal, then
 * counted and announced. An abort is seen once the group's steps are done (an engine's run is not cut short).
 */
async function trainEpoch(
  r: PhaseRun,
  epoch: number,
  epochs: number,
  schedule: ScheduleSpec,
  loop: LoopState,
): Promise<{ tally: Tally; lr: number; interrupted?: string }> {
  const { trainer, task, classes } = r;
  const tally = new Tally(task, classes);
  const batches = Math.ceil(r.count / r.batchSize);
  let b = 0;
  let lr = r.phase.lr;
  for await (const group of groupsOf(r.batches(), groupSize(trainer))) {
    const steps = group.map((batch) =>
      stepBatch(batch, (lr = learningRateAt(schedule, loop.step++) * loop.lrScale), { task, classes, classWeights: r.classWeights }),
    );
    const results = await takeSteps(trainer, steps);
    for (const [i, s] of results.entries()) {
      if (!Number.isFinite(s.loss)) return { tally, lr, interrupted: `the loss became ${s.loss} in epoch ${epoch}: lower the learning rate (--learning-rate)` };
      if (r.o.signal?.aborted) return { tally, lr, interrupted: `interrupted in epoch ${epoch}` };
      tally.add(s.loss, s.output, group[i].labels);
      r.emit({ type: 'batch', phase: r.index, epoch, epochs, batch: ++b, batches, loss: tally.meanLoss });
    }
  }
  return { tally, lr };
}

function epochLog(epoch: number, lr: number, train: Tally, val: Tally | null, task: Task): EpochLog {
  const m = train.metrics();
  const vm = val?.metrics();
  return {
    epoch,
    loss: train.meanLoss,
    accuracy: m.accuracy,
    valLoss: val ? val.meanLoss : null,
    valAccuracy: vm?.accuracy ?? null,
    ...(task === 'regression' ? { mae: m.mae, rmse: m.rmse, valMae: vm?.mae ?? null, valRmse: vm?.rmse ?? null } : {}),
    lr,
  };
}

/**
 * Replays a checkpoint's epochs through the callbacks, silently: they end where they were (the best loss, the
 * epochs since it fell, the rate scale, the weights they keep), as if the phase had run without a break.
 */
async function replay(callbacks: CallbackList, resume: LoopResume, replaying: { epoch?: number }): Promise<{ lrScale: number; stop: boolean }> {
  let lrScale = 1;
  let stop = false;
  for (const log of resume.history) {
    replaying.epoch = log.epoch;
    const d = await callbacks.epochEnd(log.epoch, log, lrScale);
    lrScale = d.lrScale;
    stop = d.stop;
  }
  replaying.epoch = undefined;
  return { lrScale, stop };
}

/** A phase's epochs: train, validate, and let the callbacks (the defaults, then `o.callbacks`) decide. */
export async function runEpochs(r: PhaseRun): Promise<PhaseOutcome> {
  const { trainer, phase, o } = r;
  const epochs = phase.epochs === 'auto' ? (o.maxEpochs ?? AUTO_MAX_EPOCHS) : phase.epochs;
  const schedule = { name: phase.schedule, lr: phase.lr, totalSteps: epochs * Math.ceil(r.count / r.batchSize), warmupSteps: o.warmupSteps };
  const info = { index: r.index, strategy: phase.strategy, trainedFrom: phase.trainedFrom, auto: phase.epochs === 'auto', epochs, lr: phase.lr };
  const replaying: { epoch?: number } = {};
  const weights = {
    snapshot: () => (replaying.epoch !== undefined && r.resume?.weightsAt(replaying.epoch)) || trainer.snapshot(),
    restore: (w: Float32Array[]) => trainer.restore(w),
  };
  const callbacks = new CallbackList([...phaseCallbacks(o, phase, r.l2Objective), ...(o.callbacks ?? [])], weights, info, (message) => {
    if (replaying.epoch === undefined) r.emit({ type: 'notice', message });
  });
  await callbacks.begin();
  const history: EpochLog[] = [...(r.resume?.history ?? [])];
  const loop: LoopState = { step: r.resume?.step ?? 0, lrScale: 1 };
  let stopped = false;
  if (r.resume) ({ lrScale: loop.lrScale, stop: stopped } = await replay(callbacks, r.resume, replaying));
  let interrupted: string | undefined;
  for (let epoch = history.length + 1; epoch <= epochs && !stopped; epoch++) {
    const t = await trainEpoch(r, epoch, epochs, schedule, loop);
    interrupted = t.interrupted;
    if (interrupted) break;
    if (t.tally.n === 0) throw new TransferkitError(`${r.data}: no training image could be decoded`);
    const v = r.valData ? (await evaluateStore(trainer, r.valData, r.task, r.classes, r.batchSize)).tally : null;
    if (v && !Number.isFinite(v.meanLoss)) {
      interrupted = `the validation loss became ${v.meanLoss} in epoch ${epoch}: lower the learning rate (--learning-rate)`;
      break;
    }
    const log = epochLog(epoch, t.lr, t.tally, v, r.task);
    history.push(log);
    r.emit({ type: 'epoch', phase: r.index, epochs, ...log });
    const d = await callbacks.epochEnd(epoch, log, loop.lrScale);
    loop.lrScale = d.lrScale;
    stopped = d.stop;
    await r.onCheckpoint?.({ history: history.slice(), step: loop.step, stop: d.stop });
  }
  const lastEpoch = history.at(-1)?.epoch ?? 0;
  const kept = await callbacks.end(lastEpoch, interrupted);
  if (interrupted)
    return { history, stoppedAt: kept ?? lastEpoch, bestEpoch: null, stopped: { reason: interrupted, phase: r.index, keptEpoch: kept ?? lastEpoch } };
  return { history, stoppedAt: lastEpoch, bestEpoch: kept ?? null };
}
