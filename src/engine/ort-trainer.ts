import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as OrtTypes from 'onnxruntime-node';
import { TransferkitError } from '../errors.js';
import { type TrainStepGraph, compileTrainStep } from './onnx/train.js';
import { stepSize } from './optimizers.js';
import { type Ort, createSession, loadOrt } from './ort-runtime.js';
import { DropoutMasks, type StepResult, type Trainer, type TrainerOptions } from './training.js';

/**
 * Trains a model's trainable part in ONNX Runtime, one compiled graph per step. The weights live here during
 * training (the graph takes them in and gives them back updated) and are written back into the tfjs model by
 * `writeBack`, so the tfjs model stays the one place they are kept.
 */
export class OrtTrainer implements Trainer {
  readonly engine = 'ort' as const;
  private readonly values: Float32Array[];
  private readonly slots: Float32Array[][];
  private iterations = 0;
  private readonly masks: DropoutMasks;

  private constructor(
    private readonly ort: Ort,
    private readonly session: OrtTypes.InferenceSession,
    readonly graph: TrainStepGraph,
    private readonly options: TrainerOptions,
  ) {
    this.values = graph.params.map((p) => Float32Array.from(p.layer.getWeights()[p.index].dataSync()));
    this.slots = graph.params.map((p) => p.slots.map(() => new Float32Array(p.shape.reduce((a, b) => a * b, 1))));
    this.masks = new DropoutMasks(options.seed);
  }

  static async create(model: tfl.LayersModel, options: TrainerOptions): Promise<OrtTrainer> {
    const graph = compileTrainStep(model, options);
    const ort = await loadOrt();
    let session: OrtTypes.InferenceSession;
    try {
      session = await createSession(ort, graph.onnx, {
        intraOpNumThreads: 0,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new TransferkitError(`ONNX Runtime rejected the training graph of ${model.name}: ${(err as Error).message.split('\n')[0]}`);
    }
    return new OrtTrainer(ort, session, graph, options);
  }

  private feeds(x: Float32Array, y: Float32Array, n: number, lr: number, train: boolean, weights?: Float32Array): Record<string, OrtTypes.Tensor> {
    const g = this.graph;
    // tfjs can hand back float32 data in an Int32Array (its int→float cast does): ORT needs a Float32Array.
    const f32 = (a: Float32Array) => (a instanceof Float32Array ? a : Float32Array.from(a));
    const feeds: Record<string, OrtTypes.Tensor> = {
      [g.x]: new this.ort.Tensor('float32', f32(x), [n, ...g.inputShape]),
      [g.y]: new this.ort.Tensor('float32', f32(y), [n, ...g.outputShape]),
      [g.lr]: new this.ort.Tensor('float32', Float32Array.of(lr), []),
    };
    // Validation losses are unweighted (Keras applies class_weight to training only).
    if (g.sampleWeight) feeds[g.sampleWeight] = new this.ort.Tensor('float32', weights ?? new Float32Array(n).fill(1), [n]);
    for (const m of g.masks) {
      const mask = this.masks.draw(n * m.shape.reduce((a, b) => a * b, 1), m.rate, train);
      feeds[m.input] = new this.ort.Tensor('float32', mask, [n, ...m.shape]);
    }
    g.params.forEach((p, i) => {
      feeds[p.input] = new this.ort.Tensor('float32', this.values[i], p.shape);
      p.slots.forEach((s, k) => (feeds[s.input] = new this.ort.Tensor('float32', this.slots[i][k], p.shape)));
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
