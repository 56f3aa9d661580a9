// What both ONNX Runtime trainers share: a compiled training step run once per batch, with the trained weights
// and their optimizer slots kept here between steps (fed in, taken back updated). They differ in how the step is
// compiled (a Keras model, or an imported graph cut for fine-tuning) and in where the weights go afterwards.
import type * as OrtTypes from 'onnxruntime-node';
import { TransferkitError } from '../errors.js';
import type { StepGraph, StepWeight } from './onnx/step.js';
import { stepSize } from './optimizers.js';
import { GROUPS_LARGE_STEPS, type Ort, createSession, loadOrt, ortReason } from './ort-runtime.js';
import type { StepBatch, StepResult, Trainer, TrainerOptions, TrainerState } from './training.js';
import { decodeModel } from './onnx/decode.js';
import { evaluationGraph } from './onnx/evaluation.js';
import { type UnrolledStep, unrollStep } from './onnx/unroll.js';

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

type Outputs = OrtTypes.InferenceSession.OnnxValueMapType;

const result = (out: Outputs, loss: string, output: string): StepResult => ({
  loss: (out[loss].data as Float32Array)[0],
  output: out[output].data as Float32Array,
});

/** Nodes an automatic group's graph may hold: ORT's session creation grows faster than the graph. */
const GROUP_NODES = 8000;

/**
 * Trained weights and slots (floats) above which automatic groups are 8 steps, not 4. Every run copies each updated
 * weight and slot out of ONNX Runtime into fresh memory (ConvNeXt-Tiny stage 3's 31 M floats: 34 ms of a 155 ms step
 * here), which a group pays once: 8 a run took ConvNeXt-Tiny stage 3 from 164 to 126 ms a step and ViT-B/16's last 2
 * blocks from 343 to 294 (4: 133 and 304), for a K-step session that opened in 0.9 and 1.4 s.
 */
const LARGE_STATE_FLOATS = 16_000_000;

/**
 * Steps per run when the options do not say: 4 (10–48% less CPU per step than one per run on the bench's small
 * steps; 8 saves at most 1/8 of a step's output copy more, for a session that takes over twice as long to open), 8
 * above LARGE_STATE_FLOATS of state, and fewer where K copies would pass GROUP_NODES (EfficientNetV2-S's 3,282-node
 * step: 2; its 4-step session took 27–49 s to open on a loaded machine, the 2-step one 3.6 s). A fit in groups
 * holds the one-step session too (an epoch's remainder); fits' peak memory measured at 1 and at the automatic size:
 * ConvNeXt-Tiny stage 3 2.79 and 2.76 GB (the peak is the frozen base's), ViT-B/16's last 2 blocks 5.70 and 6.23 GB
 * (8 a run). In a page (GROUPS_LARGE_STEPS false) those stay at one step a run.
 */
export function autoStepsPerRun(graph: TrainableStep): number {
  const state = graph.params.reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1) * (1 + p.slots.length), 0);
  const large = state > LARGE_STATE_FLOATS;
  if (large && !GROUPS_LARGE_STEPS) return 1;
  const nodes = decodeModel(graph.onnx).graph.nodes.length;
  return (large ? [8, 4, 2] : [4, 2]).find((k) => k * nodes <= GROUP_NODES) ?? 1;
}

/** The K-step graph of `graph` and its session. */
async function openUnrolled(graph: TrainableStep, k: number): Promise<{ session: OrtTypes.InferenceSession; step: UnrolledStep }> {
  const step = unrollStep(graph, k);
  const { session } = await openStepSession(step.onnx, `the ${k}-step training graph`);
  return { session, step };
}

export abstract class OrtStepTrainer<G extends TrainableStep> implements Trainer {
  readonly engine = 'ort' as const;
  /** Consecutive batches the loop hands `steps` at once: the option, else the step's own choice (`autoStepsPerRun`). */
  readonly stepsPerRun: number;
  protected readonly values: Float32Array[];
  private readonly slots: Float32Array[][];
  private iterations = 0;
  /** The K-step session, opened by the first full group. */
  private unrolled?: Promise<{ session: OrtTypes.InferenceSession; step: UnrolledStep }>;
  /** The step's forward part alone, opened by the first evaluation. */
  private evaluation?: Promise<OrtTypes.InferenceSession>;
  /** The one-step graph's weight and slot outputs, in the form `takeState` reads. */
  private readonly oneStep: UnrolledStep['params'];

  protected constructor(
    protected readonly ort: Ort,
    private readonly session: OrtTypes.InferenceSession,
    readonly graph: G,
    private readonly options: TrainerOptions,
    initial: Float32Array[],
  ) {
    this.values = initial;
    this.slots = graph.params.map((p) => p.slots.map(() => new Float32Array(p.shape.reduce((a, b) => a * b, 1))));
    this.oneStep = graph.params.map((p) => ({ output: p.output, slots: p.slots.map((s) => s.output) }));
    this.stepsPerRun = Math.max(1, Math.floor(options.stepsPerExecution ?? autoStepsPerRun(graph)));
  }

  /** Inputs of a step besides the batch and the weights (dropout masks); `train` is false when evaluating. */
  protected extraFeeds(_n: number, _train: boolean): Record<string, OrtTypes.Tensor> {
    return {};
  }

  /** A batch's inputs (everything but the weights and slots), by the one-step graph's names. */
  private batchFeeds(b: StepBatch, lr: number, train: boolean): Record<string, OrtTypes.Tensor> {
    const g = this.graph;
    const tensor = (data: Float32Array, dims: number[]) => new this.ort.Tensor('float32', data, dims);
    // tfjs can hand back float32 data in an Int32Array (its int→float cast does): ORT needs a Float32Array.
    const f32 = (a: Float32Array) => (a instanceof Float32Array ? a : Float32Array.from(a));
    const feeds: Record<string, OrtTypes.Tensor> = {
      [g.x]: tensor(f32(b.x), [b.n, ...g.inputShape]),
      [g.y]: tensor(f32(b.y), [b.n, ...g.outputShape]),
      [g.lr]: tensor(Float32Array.of(lr), []),
      ...this.extraFeeds(b.n, train),
    };
    // Validation losses are unweighted (Keras applies class_weight to training only).
    if (g.sampleWeight) feeds[g.sampleWeight] = tensor(b.weights ?? new Float32Array(b.n).fill(1), [b.n]);
    return feeds;
  }

  /** The current weights and slots, fed to the first (or only) step of a run. */
  private stateFeeds(): Record<string, OrtTypes.Tensor> {
    const feeds: Record<string, OrtTypes.Tensor> = {};
    this.graph.params.forEach((p, i) => {
      feeds[p.input] = new this.ort.Tensor('float32', this.values[i], p.shape);
      p.slots.forEach((s, k) => (feeds[s.input] = new this.ort.Tensor('float32', this.slots[i][k], p.shape)));
    });
    return feeds;
  }

  /** Keeps a run's updated weights and slots (`names`: their outputs, in the step's order). */
  private takeState(out: Outputs, names: UnrolledStep['params']): void {
    names.forEach((p, i) => {
      this.values[i] = out[p.output].data as Float32Array;
      p.slots.forEach((s, k) => (this.slots[i][k] = out[s].data as Float32Array));
    });
  }

  /** The step size of the step after `done` steps (Adam's bias correction counts them). */
  private lrAfter(lr: number, done: number): number {
    return stepSize(this.options.optimizer, lr, done + 1);
  }

  async step(x: Float32Array, y: Float32Array, n: number, lr: number, weights?: Float32Array): Promise<StepResult> {
    const out = await this.session.run({ ...this.batchFeeds({ x, y, n, lr, weights }, this.lrAfter(lr, this.iterations), true), ...this.stateFeeds() });
    this.takeState(out, this.oneStep);
    this.iterations++;
    return result(out, this.graph.loss, this.graph.output);
  }

  /** Full groups of `stepsPerRun` batches in one run each; a shorter remainder (an epoch's last) one step at a time. */
  async steps(batches: StepBatch[]): Promise<StepResult[]> {
    const k = this.stepsPerRun;
    const results: StepResult[] = [];
    let at = 0;
    for (; k > 1 && at + k <= batches.length; at += k) results.push(...(await this.group(batches.slice(at, at + k))));
    for (const b of batches.slice(at)) results.push(await this.step(b.x, b.y, b.n, b.lr, b.weights));
    return results;
  }

  /** One run of the K-step graph: copy i takes batch i with the step size of step `iterations + i + 1`. */
  private async group(batches: StepBatch[]): Promise<StepResult[]> {
    this.unrolled ??= openUnrolled(this.graph, batches.length);
    const { session, step } = await this.unrolled;
    const feeds = this.stateFeeds();
    step.copies.forEach((c, i) => {
      const own = this.batchFeeds(batches[i], this.lrAfter(batches[i].lr, this.iterations + i), true);
      for (const [name, t] of Object.entries(own)) feeds[c.inputs.get(name) as string] = t;
    });
    const out = await session.run(feeds);
    this.takeState(out, step.params);
    this.iterations += batches.length;
    return step.copies.map((c) => result(out, c.loss, c.output));
  }

  async evaluate(x: Float32Array, y: Float32Array, n: number): Promise<StepResult> {
    this.evaluation ??= openStepSession(evaluationGraph(this.graph), 'the evaluation graph of the training step').then((s) => s.session);
    const session = await this.evaluation;
    const all = { ...this.batchFeeds({ x, y, n, lr: 0 }, 0, false), ...this.stateFeeds() };
    const out = await session.run(Object.fromEntries(session.inputNames.map((name) => [name, all[name]])));
    return result(out, this.graph.loss, this.graph.output);
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
    if (this.unrolled) await (await this.unrolled).session.release();
    if (this.evaluation) await (await this.evaluation).release();
  }
}
