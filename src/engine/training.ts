// What every engine's trainer is: the loop in train/ drives a Trainer; ONNX Runtime (compiled step graphs) or
// tfjs (the wasm fallback) takes the steps. Both implement this, and trainer.ts picks one.
import type { LossName } from './onnx/train.js';
import type { OptimizerSpec } from './optimizers.js';
import type { EngineName } from './predictor.js';
import { seededRandom } from '../util/random.js';

/** What a trainer trains: from which layer, with which loss, optimizer and seed. */
export interface TrainerOptions {
  /** First trained layer (its input is what `step` is fed); default the model's first layer. */
  from?: string;
  loss: LossName;
  optimizer: OptimizerSpec;
  /** Seed of the dropout masks. */
  seed?: number;
  /** Steps take per-example loss weights (class weights). */
  weighted?: boolean;
  /** A layer's rate as a fraction of the step's rate (discriminative rates); default 1. */
  lrScale?: (layer: string) => number;
  /** An L2 penalty l2·Σw² on the kernels of the trained Dense layers (Keras's `kernel_regularizer=l2(l2)`); default 0. */
  l2?: number;
  /**
   * Steps taken per call into the engine (Keras's `steps_per_execution`): the same updates as one at a time, with
   * the engine's per-call costs paid once per group. Default: the engine's choice (`Trainer.stepsPerRun`).
   */
  stepsPerExecution?: number;
  /**
   * The batch size most steps will have (default 1; any batch runs): ONNX Runtime's CPU step takes the convolution
   * forms fastest at it (see CompileOptions.batchSize).
   */
  batchSize?: number;
}

/** One batch of a group of steps (`Trainer.steps`): what `step` takes. */
export interface StepBatch {
  x: Float32Array;
  y: Float32Array;
  n: number;
  lr: number;
  weights?: Float32Array;
}

/** What a step (or an evaluation) gives back. */
export interface StepResult {
  loss: number;
  /** The model's output for the batch (before the update), for metrics. */
  output: Float32Array;
}

/** Training steps on one engine (ONNX Runtime or tfjs), for the trainable layers of a tfjs model. */
export interface Trainer {
  readonly engine: EngineName;
  /**
   * One step on a batch of n examples: x holds n inputs of the first trained layer, y n targets, `weights` n
   * loss weights (a trainer created with `weighted`; default all 1).
   */
  step(x: Float32Array, y: Float32Array, n: number, lr: number, weights?: Float32Array): Promise<StepResult>;
  /** How many consecutive batches the loop should hand `steps` at once; 1 (or absent): one `step` at a time. */
  readonly stepsPerRun?: number;
  /** Steps on consecutive batches in one call: the same results, in order, as `step` on each in turn. */
  steps?(batches: StepBatch[]): Promise<StepResult[]>;
  /** Loss and outputs on a batch with the current weights, dropout off; nothing is updated. */
  evaluate(x: Float32Array, y: Float32Array, n: number): Promise<StepResult>;
  /** A copy of the current trained weights (for restore-best). */
  snapshot(): Float32Array[];
  /** Puts back weights taken by `snapshot`. */
  restore(values: Float32Array[]): void;
  /** Leaves the trained weights in the tfjs model (the one place they are kept). */
  writeBack(): void;
  /** Frees the engine's session or tensors. */
  dispose(): Promise<void>;
  /** Everything a step depends on besides the weights (optimizer slots, step count, dropout draws), to resume from. */
  state?(): TrainerState;
  /** Puts back a `state()` (with the weights by `restore`): the next step is the one the saved trainer would take. */
  loadState?(state: TrainerState): void;
}

/** Steps on consecutive batches: in one call where the trainer takes groups, else one `step` after another. */
export async function takeSteps(trainer: Trainer, batches: StepBatch[]): Promise<StepResult[]> {
  if (trainer.steps && batches.length > 1) return trainer.steps(batches);
  const out: StepResult[] = [];
  for (const b of batches) out.push(await trainer.step(b.x, b.y, b.n, b.lr, b.weights));
  return out;
}

/** A trainer's optimizer and dropout state (ONNX Runtime trainers): what makes a resumed run continue exactly. */
export interface TrainerState {
  /** Each trained weight's optimizer slots (Adam's moments; none for SGD), in the order of `snapshot()`. */
  slots: Float32Array[][];
  /** Steps taken (Adam's bias correction). */
  iterations: number;
  /** Random numbers the dropout masks have drawn. */
  maskDraws: number;
}

/** Seeded dropout masks, drawn the same way on every engine (inverted dropout: kept units scaled by 1/keep). */
export class DropoutMasks {
  private readonly random: () => number;
  /** Numbers drawn so far: a resumed trainer skips as many to draw the masks the saved one would draw next. */
  drawn = 0;

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  /** Draws and drops `n` numbers (to where a saved trainer's masks had reached). */
  skip(n: number): void {
    for (let i = 0; i < n; i++) this.random();
    this.drawn += n;
  }

  draw(size: number, rate: number, train: boolean): Float32Array {
    const mask = new Float32Array(size);
    const keep = 1 - rate;
    if (train) {
      for (let i = 0; i < size; i++) mask[i] = this.random() < keep ? 1 / keep : 0;
      this.drawn += size;
    } else mask.fill(1);
    return mask;
  }
}
