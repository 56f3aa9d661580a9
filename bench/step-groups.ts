// The step rows time what users get: the trainer's own groups (`stepsPerRun` batches per engine call through
// takeSteps, issue 30), ms per step = a group's time / its size; the one-step time is recorded beside it.
import { type StepBatch, type Trainer, takeSteps } from '../src/engine/training.js';
import { timed } from './peer.js';
import type { Row } from './rows.js';

/** A group of the trainer's `stepsPerRun` steps on the same batch, and its size. */
export function stepGroup(trainer: Trainer, x: Float32Array, y: Float32Array, n: number, lr: number): { run: () => Promise<unknown>; k: number } {
  const k = trainer.stepsPerRun ?? 1;
  const batches: StepBatch[] = Array.from({ length: k }, () => ({ x, y, n, lr }));
  return { run: () => takeSteps(trainer, batches), k };
}

/** Times one `step` per engine call and puts it, with the group size, on the row's ORT line (the change on record). */
export async function oneStepBeside(rows: Row[], name: string, trainer: Trainer, x: Float32Array, y: Float32Array, n: number, reps: number): Promise<void> {
  const row = rows.find((r) => r.name === name && r.engine === 'ort');
  if (!row) return;
  row.stepsPerRun = trainer.stepsPerRun ?? 1;
  row.oneStepMs = await timed(() => trainer.step(x, y, n, 1e-3), reps, 1);
}
