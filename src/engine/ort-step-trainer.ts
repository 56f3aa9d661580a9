// What both ONNX Runtime trainers share: a compiled training step run once per batch, with the trained weights
// and their optimizer slots kept here between steps (fed in, taken back updated). They differ in how the step is
// compiled (a Keras model, or an imported graph cut for fine-tuning) and in where the weights go afterwards.
import type * as OrtTypes from 'onnxruntime-node';
import { TransferkitError } from '../errors.js';
import type { StepGraph, StepWeight } from './onnx/step.js';
import { stepSize } from './optimizers.js';
import { type Ort, createSession, loadOrt, ortReason } from './ort-runtime.js';
import type { StepResult, Trainer, TrainerOptions, TrainerState } from './training.js';

export type TrainableStep = StepGraph & { params: StepWeight[] };

/**
 * An ORT session for a training step: all cores in one op, as for inference; `what` names it in a rejection. No
 * memory pattern: ORT would allocate the whole planned block on the second run while its arena keeps the first
 * run's chunks (ViT-B/16's last-2-blocks step at batch 8: peak RSS 1680 → 1243 MB, the same CPU time per step).
 */
export async function openStepSession(onnx: Uint8Array, what: string): Promise<{ ort: Ort; session: OrtTypes.InferenceSession }> {
  const ort = await loadOrt();
  try {
    const session = await createSession(ort, onnx, {
      intraOpNumThreads: 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      enableMemPattern: false,
    });
    return { ort, session };
  } catch (err) {
    throw new TransferkitError(`ONNX Runtime rejected ${what}: ${ortReason(err)}`);
  }
}

export abstract class OrtStepTrainer<G extends TrainableStep> implements Trainer {
  readonly engine = 'ort' as const;
  protected readonly values: Float32Array[];
  private readonly slots: Float32Array[][];
  private iterations = 0;

  protected constructor(
    protected readonly ort: Ort,
    private readonly session: OrtTypes.InferenceSession,
    readonly graph: G,
    private readonly options: TrainerOptions,
    initial: Float32Array[],
  ) {
    this.values = initial;
    this.slots = graph.params.map((p) => p.slots.map(() => new Float32Array(p.shape.reduce((a, b) => a * b, 1))));
  }

  /** Inputs of a step besides the batch and the weights (dropout masks); `train` is false when evaluating. */
  protected extraFeeds(_n: number, _train: boolean): Record<string, OrtTypes.Tensor> {
    return {};
  }

  private feeds(x: Float32Array, y: Float32Array, n: number, lr: number, train: boolean, weights?: Float32Array): Record<string, OrtTypes.Tensor> {
    const g = this.graph;
    const tensor = (data: Float32Array, dims: number[]) => new this.ort.Tensor('float32', data, dims);
    // tfjs can hand back float32 data in an Int32Array (its int→float cast does): ORT needs a Float32Array.
    const f32 = (a: Float32Array) => (a instanceof Float32Array ? a : Float32Array.from(a));
    const feeds: Record<string, OrtTypes.Tensor> = {
      [g.x]: tensor(f32(x), [n, ...g.inputShape]),
      [g.y]: tensor(f32(y), [n, ...g.outputShape]),
      [g.lr]: tensor(Float32Array.of(lr), []),
      ...this.extraFeeds(n, train),
    };
    // Validation losses are unweighted (Keras applies class_weight to training only).
    if (g.sampleWeight) feeds[g.sampleWeight] = tensor(weights ?? new Float32Array(n).fill(1), [n]);
    g.params.forEach((p, i) => {
      feeds[p.input] = tensor(this.values[i], p.shape);
      p.slots.forEach((s, k) => (feeds[s.input] = tensor(this.slots[i][k], p.shape)));
    });
    return feeds;
  }

  async step(x: Float32Array, y: Float32Array, n: number, lr: number, weights?: Float32Array): Promise<StepResult> {
    const g = this.graph;
    const out = await this.session.run(this.feeds(x, y, n, stepSize(this.options.optimizer, lr, this.iterations + 1), true, weights));
    g.params.forEach((p, i) => {
      this.values[i] = out[p.output].data as Float32Array;
      p.slots.forEach((s, k) => (this.slots[i][k] = out[s.output].data as Float32Array));
    });
    this.iterations++;
    return { loss: (out[g.loss].data as Float32Array)[0], output: out[g.output].data as Float32Array };
  }

  async evaluate(x: Float32Array, y: Float32Array, n: number): Promise<StepResult> {
    const out = await this.session.run(this.feeds(x, y, n, 0, false));
    return { loss: (out[this.graph.loss].data as Float32Array)[0], output: out[this.graph.output].data as Float32Array };
  }

  snapshot(): Float32Array[] {
    return this.values.map((v) => v.slice());
  }

  restore(values: Float32Array[]): void {
    values.forEach((v, i) => (this.values[i] = v.slice()));
  }

  /** The dropout draws so far (the trainer that draws masks says). */
  protected maskDraws(): number {
    return 0;
  }

  /** Skips the dropout masks' stream `n` draws ahead (the trainer that draws masks does). */
  protected skipMaskDraws(_n: number): void {}

  state(): TrainerState {
    return { slots: this.slots.map((s) => s.map((v) => v.slice())), iterations: this.iterations, maskDraws: this.maskDraws() };
  }

  loadState(state: TrainerState): void {
    state.slots.forEach((s, i) => s.forEach((v, k) => (this.slots[i][k] = v.slice())));
    this.iterations = state.iterations;
    this.skipMaskDraws(state.maskDraws);
  }

  abstract writeBack(): void;

  /** Releases the ONNX Runtime session. */
  async dispose(): Promise<void> {
    await this.session.release();
  }
}
