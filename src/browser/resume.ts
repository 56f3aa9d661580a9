// A run that checkpoints after each epoch and continues from a checkpoint: what trainClassifier hands the epoch
// loop (its checkpoint hook and what it resumes from), and how the model, the trainer and the shuffle get back to
// where the saved run was.
import { tf, type tfl } from '../tfjs.js';
import type { TrainerState, Trainer } from '../engine/training.js';
import { TransferkitError } from '../errors.js';
import type { LoopCheckpoint, LoopResume } from '../train/fit/epoch-loop.js';
import { seededRandom } from '../util/random.js';
import type { CheckpointStore, RunCheckpoint } from './checkpoints.js';
import type { KeptRows } from './kept-features.js';

/** A seeded stream that counts its draws, so a resumed run can skip to where the saved one was. */
export function countedRandom(seed: number): { next: () => number; draws: () => number; skip(n: number): void } {
  const random = seededRandom(seed);
  let drawn = 0;
  const next = () => {
    drawn++;
    return random();
  };
  return {
    next,
    draws: () => drawn,
    skip: (n) => {
      for (let i = 0; i < n; i++) next();
    },
  };
}

/** The model's weights with their names (the order of `model.weights` follows the trainable flags; names do not). */
function namedWeights(model: tfl.LayersModel): { names: string[]; values: Float32Array[] } {
  const names = model.weights.map((w) => w.name);
  if (new Set(names).size !== names.length) throw new TransferkitError(`${model.name} has two weights of one name: it cannot be checkpointed`);
  return { names, values: model.weights.map((w) => w.read().dataSync() as Float32Array) };
}

function setNamedWeights(model: tfl.LayersModel, names: string[], values: Float32Array[]): void {
  const byName = new Map(names.map((n, i) => [n, values[i]]));
  for (const w of model.weights) {
    const v = byName.get(w.name);
    if (!v || v.length !== w.shape.reduce<number>((a, b) => a * (b ?? 1), 1))
      throw new TransferkitError(`the checkpoint has no weight ${w.name} of its shape: it is of another model`);
    w.write(tf.tensor(v, w.shape as number[]));
  }
}

/** What a resumed phase starts from: the loop's replay, the trained weights and the trainer's state. */
export interface PhaseResume {
  loop: LoopResume;
  current: Float32Array[];
  state: TrainerState;
}

/** Checkpoints of one run: the phases finished so far, the shuffle's draws, and each phase's epoch hook. */
export class RunRecorder {
  constructor(
    private readonly store: CheckpointStore,
    private readonly key: string,
    private readonly random: ReturnType<typeof countedRandom>,
    readonly finished: RunCheckpoint['finished'],
    private readonly from?: RunCheckpoint,
  ) {}

  /** Puts the model and the shuffle back where the checkpoint was; the phase to continue from. */
  restoreRun(model: tfl.LayersModel): number {
    if (!this.from) return 0;
    setNamedWeights(model, this.from.modelNames, this.from.arrays.model);
    this.random.skip(this.from.shuffleDraws);
    return this.from.phase;
  }

  /** The run's file for a phase's features (`part` names it), where the store keeps such files. */
  featureRows(part: string, rowSize: number, count: number): Promise<KeptRows> | undefined {
    return this.store.featureRows?.(`features-${this.key}-${part}.f32`, rowSize, count);
  }

  /** What phase `index` resumes from, when the checkpoint is inside it. */
  resumeOf(index: number): PhaseResume | undefined {
    const c = this.from;
    if (!c || c.phase !== index) return undefined;
    const last = c.loop.history.at(-1)?.epoch;
    const weightsAt = (epoch: number) => (epoch === last ? c.arrays.current : epoch === c.best?.epoch ? c.arrays.best : undefined);
    return {
      loop: { ...c.loop, weightsAt },
      current: c.arrays.current,
      state: { ...c.trainer, slots: c.arrays.slots },
    };
  }

  /** The epoch loop's checkpoint hook for phase `index` (the model as the phase starts, the trainer training it). */
  phaseHook(index: number, model: tfl.LayersModel, trainer: Trainer): (at: LoopCheckpoint) => Promise<void> {
    const start = namedWeights(model);
    const resumed = this.from?.phase === index ? this.from : undefined;
    let best = resumed?.best ? { ...resumed.best, weights: resumed.arrays.best } : null;
    return async (at) => {
      if (!trainer.state) throw new TransferkitError(`the ${trainer.engine} trainer keeps no optimizer state to checkpoint`);
      const current = trainer.snapshot();
      const last = at.history.at(-1);
      // The lowest validation loss so far, as restore-best tracks it: its weights are what that callback keeps.
      if (last?.valLoss != null && last.valLoss < (best?.valLoss ?? Number.POSITIVE_INFINITY))
        best = { epoch: last.epoch, valLoss: last.valLoss, weights: current };
      const { slots, ...trainerState } = trainer.state();
      await this.store.save({
        key: this.key,
        phase: index,
        finished: this.finished,
        loop: at,
        shuffleDraws: this.random.draws(),
        trainer: trainerState,
        best: best && { epoch: best.epoch, valLoss: best.valLoss },
        modelNames: start.names,
        arrays: { model: start.values, current, best: best?.weights ?? [], slots },
      });
    };
  }
}
