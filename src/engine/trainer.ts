import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import ort from 'onnxruntime-node';
import { TransferkitError } from '../errors.js';
import { seededRandom } from '../util/random.js';
import { type LossName, type OptimizerSpec, type TrainStepGraph, compileTrainStep } from './onnx/train.js';

export interface TrainerOptions {
  /** First trained layer (its input is what `step` is fed); default the model's first layer. */
  from?: string;
  loss: LossName;
  optimizer: OptimizerSpec;
  /** Seed of the dropout masks. */
  seed?: number;
}

export interface StepResult {
  loss: number;
  /** The model's output for the batch (before the update), for metrics. */
  output: Float32Array;
}

/**
 * Trains a model's trainable part in ONNX Runtime, one compiled graph per step. The weights live here during
 * training (the graph takes them in and gives them back updated) and are written back into the tfjs model by
 * `writeBack`, so the tfjs model stays the one place they are kept.
 */
export class OrtTrainer {
  private readonly values: Float32Array[];
  private readonly slots: Float32Array[][];
  private iterations = 0;
  private readonly random: () => number;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly graph: TrainStepGraph,
    private readonly options: TrainerOptions,
  ) {
    this.values = graph.params.map((p) => Float32Array.from(p.layer.getWeights()[p.index].dataSync()));
    this.slots = graph.params.map((p) => p.slots.map(() => new Float32Array(p.shape.reduce((a, b) => a * b, 1))));
    this.random = seededRandom(options.seed ?? 1);
  }

  static async create(model: tfl.LayersModel, options: TrainerOptions): Promise<OrtTrainer> {
    const graph = compileTrainStep(model, options);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(graph.onnx, { intraOpNumThreads: 0, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    } catch (err) {
      throw new TransferkitError(`ONNX Runtime rejected the training graph of ${model.name}: ${(err as Error).message.split('\n')[0]}`);
    }
    return new OrtTrainer(session, graph, options);
  }

  /** Keras's Adam folds its bias correction into the step size. */
  private stepSize(lr: number): number {
    const opt = this.options.optimizer;
    if (opt.name !== 'adam') return lr;
    const t = this.iterations + 1;
    return (lr * Math.sqrt(1 - (opt.beta2 ?? 0.999) ** t)) / (1 - (opt.beta1 ?? 0.9) ** t);
  }

  private feeds(x: Float32Array, y: Float32Array, n: number, lr: number, train: boolean): Record<string, ort.Tensor> {
    const g = this.graph;
    // tfjs can hand back float32 data in an Int32Array (its int→float cast does): ORT needs a Float32Array.
    const f32 = (a: Float32Array) => (a instanceof Float32Array ? a : Float32Array.from(a));
    const feeds: Record<string, ort.Tensor> = {
      [g.x]: new ort.Tensor('float32', f32(x), [n, ...g.inputShape]),
      [g.y]: new ort.Tensor('float32', f32(y), [n, ...g.outputShape]),
      [g.lr]: new ort.Tensor('float32', Float32Array.of(lr), []),
    };
    for (const m of g.masks) {
      const keep = 1 - m.rate;
      const mask = new Float32Array(n * m.shape.reduce((a, b) => a * b, 1));
      if (train) for (let i = 0; i < mask.length; i++) mask[i] = this.random() < keep ? 1 / keep : 0;
      else mask.fill(1);
      feeds[m.input] = new ort.Tensor('float32', mask, [n, ...m.shape]);
    }
    g.params.forEach((p, i) => {
      feeds[p.input] = new ort.Tensor('float32', this.values[i], p.shape);
      p.slots.forEach((s, k) => (feeds[s.input] = new ort.Tensor('float32', this.slots[i][k], p.shape)));
    });
    return feeds;
  }

  /** One step on a batch of n examples: x holds n inputs of `graph.inputShape`, y n targets. */
  async step(x: Float32Array, y: Float32Array, n: number, lr: number): Promise<StepResult> {
    const g = this.graph;
    const out = await this.session.run(this.feeds(x, y, n, this.stepSize(lr), true));
    g.params.forEach((p, i) => {
      this.values[i] = out[p.output].data as Float32Array;
      p.slots.forEach((s, k) => (this.slots[i][k] = out[s.output].data as Float32Array));
    });
    this.iterations++;
    return { loss: (out[g.loss].data as Float32Array)[0], output: out[g.output].data as Float32Array };
  }

  /** Loss and outputs on a batch with the current weights, dropout off; nothing is updated. */
  async evaluate(x: Float32Array, y: Float32Array, n: number): Promise<StepResult> {
    const out = await this.session.run(this.feeds(x, y, n, 0, false));
    return { loss: (out[this.graph.loss].data as Float32Array)[0], output: out[this.graph.output].data as Float32Array };
  }

  /** A copy of the current weights (for restore-best). */
  snapshot(): Float32Array[] {
    return this.values.map((v) => v.slice());
  }

  /** Puts back weights taken by `snapshot`. */
  restore(values: Float32Array[]): void {
    values.forEach((v, i) => (this.values[i] = v.slice()));
  }

  /** Copies the trained weights into the tfjs model. */
  writeBack(): void {
    const byLayer = new Map<tfl.layers.Layer, Array<{ index: number; values: Float32Array; shape: number[] }>>();
    this.graph.params.forEach((p, i) => {
      const list = byLayer.get(p.layer) ?? [];
      list.push({ index: p.index, values: this.values[i], shape: p.shape });
      byLayer.set(p.layer, list);
    });
    for (const [layer, updates] of byLayer) {
      const current = layer.getWeights();
      const next = current.map((w, i) => {
        const u = updates.find((x) => x.index === i);
        return u ? tf.tensor(u.values, u.shape) : w;
      });
      layer.setWeights(next);
      tf.dispose(next.filter((w) => !current.includes(w)));
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
