// Batches handed to the engine in groups (Keras's steps_per_execution): a trainer whose `stepsPerRun` is K takes K
// consecutive steps in one call, so the per-call costs (ONNX Runtime copying every updated weight and optimizer
// slot out of a run) are paid once per group. The epoch loop and the refit step this way; the range test does not.
import type { StepBatch, Trainer } from '../../engine/training.js';
import { targets } from '../evaluate/metrics.js';
import type { Batch } from '../features/batches.js';
import type { Task } from './options.js';

/** How many consecutive batches the loop hands `takeSteps` at once: the trainer's `stepsPerRun`, else 1. */
export const groupSize = (trainer: Trainer): number => Math.max(1, Math.floor(trainer.stepsPerRun ?? 1));

/** Consecutive items in arrays of `size`; the last may be shorter. */
export async function* groupsOf<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let group: T[] = [];
  for await (const item of items) {
    group.push(item);
    if (group.length < size) continue;
    yield group;
    group = [];
  }
  if (group.length) yield group;
}

/** What a batch's step needs besides the batch and its rate. */
export interface StepTargets {
  task: Task;
  classes: number;
  /** Each class's weight in the loss (class weights): the step gets one weight per example. */
  classWeights?: number[];
}

/** A batch as `takeSteps` takes it: its targets, its rate and (with class weights) each example's loss weight. */
export function stepBatch(b: Batch, lr: number, t: StepTargets): StepBatch {
  const { classWeights } = t;
  const weights = classWeights ? Float32Array.from(b.labels, (l) => classWeights[l]) : undefined;
  return { x: b.x, y: targets(b.labels, t.task, t.classes), n: b.labels.length, lr, weights };
}
