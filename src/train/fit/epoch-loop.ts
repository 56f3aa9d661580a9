// The epoch loop of one phase: steps over shuffled batches at the schedule's rate, a validation pass per epoch,
// and Keras's callbacks on the validation loss (early stopping, restoring the best weights, reducing the rate).
import type { Trainer } from '../../engine/training.js';
import { TransferkitError } from '../../errors.js';
import type { Batch } from '../features/cache.js';
import type { FeatureStore } from '../features/store.js';
import { Tally, targets } from '../evaluate/metrics.js';
import type { EpochLog, Task, TrainEvent, TrainOptions, TrainResult } from './options.js';
import type { Phase } from './phase-plan.js';
import { learningRateAt } from './schedule.js';

export const AUTO_PATIENCE = 5;
export const AUTO_MAX_EPOCHS = 200;
/**
 * Under auto, a head phase's rate falls tenfold after this many epochs without a lower validation loss
 * (ReduceLROnPlateau): the head's higher default rate (phase-plan.ts) then settles instead of stopping noisy.
 */
export const AUTO_REDUCE_PATIENCE = 2;

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

export async function runEpochs(r: PhaseRun): Promise<PhaseOutcome> {
  const { trainer, phase, o, task, classes, emit } = r;
  const auto = phase.epochs === 'auto';
  const epochs = auto ? (o.maxEpochs ?? AUTO_MAX_EPOCHS) : (phase.epochs as number);
  const patience = o.earlyStoppingPatience ?? (auto ? AUTO_PATIENCE : undefined);
  const restoreBest = auto || o.restoreBest;
  const reducePatience = o.reduceLrPatience ?? (auto && phase.strategy === 'feature-extraction' ? AUTO_REDUCE_PATIENCE : undefined);
  const batches = Math.ceil(r.count / r.batchSize);
  const schedule = { name: phase.schedule, lr: phase.lr, totalSteps: epochs * batches, warmupSteps: o.warmupSteps };
  const history: EpochLog[] = [];
  let step = 0;
  let factor = 1;
  let best: { loss: number; epoch: number; weights?: Float32Array[] } = { loss: Infinity, epoch: 0 };
  // The weights at the end of the last complete epoch: what an interrupted or diverged run keeps.
  let lastGood = { epoch: 0, weights: trainer.snapshot() };
  let sinceBest = 0;
  let sinceReduce = 0;
  let stopped: PhaseOutcome['stopped'];
  const stop = (reason: string) => {
    stopped = { reason, phase: r.index, keptEpoch: lastGood.epoch };
    trainer.restore(lastGood.weights);
  };
  let epoch = 1;
  for (; epoch <= epochs; epoch++) {
    const tally = new Tally(task, classes);
    let b = 0;
    let lr = phase.lr;
    for await (const { x, labels } of r.batches()) {
      lr = learningRateAt(schedule, step++) * factor;
      const weights = r.classWeights ? Float32Array.from(labels, (l) => (r.classWeights as number[])[l]) : undefined;
      const s = await trainer.step(x, targets(labels, task, classes), labels.length, lr, weights);
      if (!Number.isFinite(s.loss)) stop(`the loss became ${s.loss} in epoch ${epoch}: lower the learning rate (--learning-rate)`);
      else if (o.signal?.aborted) stop(`interrupted in epoch ${epoch}`);
      if (stopped) break;
      tally.add(s.loss, s.output, labels);
      emit({ type: 'batch', phase: r.index, epoch, epochs, batch: ++b, batches, loss: tally.meanLoss });
    }
    if (stopped) break;
    if (tally.n === 0) throw new TransferkitError(`${r.data}: no training image could be decoded`);
    const v = r.valData ? (await evaluateStore(trainer, r.valData, task, classes, r.batchSize)).tally : null;
    if (v && !Number.isFinite(v.meanLoss)) {
      stop(`the validation loss became ${v.meanLoss} in epoch ${epoch}: lower the learning rate (--learning-rate)`);
      break;
    }
    const m = tally.metrics();
    const vm = v?.metrics();
    const log: EpochLog = {
      epoch,
      loss: tally.meanLoss,
      accuracy: m.accuracy,
      valLoss: v ? v.meanLoss : null,
      valAccuracy: vm?.accuracy ?? null,
      ...(task === 'regression' ? { mae: m.mae, rmse: m.rmse, valMae: vm?.mae ?? null, valRmse: vm?.rmse ?? null } : {}),
      lr,
    };
    history.push(log);
    lastGood = { epoch, weights: trainer.snapshot() };
    emit({ type: 'epoch', phase: r.index, epochs, ...log });
    if (log.valLoss === null) continue;
    if (log.valLoss < best.loss) {
      best = { loss: log.valLoss, epoch, weights: restoreBest ? lastGood.weights : undefined };
      sinceBest = 0;
      sinceReduce = 0;
      continue;
    }
    sinceBest++;
    sinceReduce++;
    if (reducePatience && sinceReduce >= reducePatience) {
      factor /= 10;
      sinceReduce = 0;
      emit({ type: 'notice', message: `validation loss flat for ${reducePatience} epoch(s): learning rate now ${phase.lr * factor}` });
    }
    if (patience && sinceBest >= patience) {
      emit({
        type: 'notice',
        message: `${auto ? 'epochs auto: stopped' : 'early stopping'} after epoch ${epoch}: no lower validation loss for ${sinceBest} epoch(s)`,
      });
      break;
    }
  }
  const stoppedAt = Math.min(epoch, epochs);
  if (auto && !stopped && stoppedAt === epochs && sinceBest < (patience ?? 0))
    emit({ type: 'notice', message: `epochs auto: reached the cap of ${epochs} epochs with the validation loss still falling (--max-epochs to allow more)` });
  if (best.weights && !stopped) {
    trainer.restore(best.weights);
    emit({ type: 'notice', message: `restored the weights of epoch ${best.epoch} (validation loss ${best.loss.toFixed(4)})` });
  }
  return {
    history,
    stoppedAt: stopped ? stopped.keptEpoch : stoppedAt,
    bestEpoch: best.weights && !stopped ? best.epoch : null,
    ...(stopped ? { stopped } : {}),
  };
}
