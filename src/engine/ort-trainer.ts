import { tf } from '../tfjs.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as OrtTypes from 'onnxruntime-node';
import { type TrainStepGraph, compileTrainStep } from './onnx/train.js';
import { type Ort, onCpu } from './ort-runtime.js';
import { OrtStepTrainer, openStepSession } from './ort-step-trainer.js';
import { DropoutMasks, type TrainerOptions } from './training.js';

/**
 * Trains a model's trainable part in ONNX Runtime, one compiled graph per step. The weights live here during
 * training (the graph takes them in and gives them back updated) and are written back into the tfjs model by
 * `writeBack`, so the tfjs model stays the one place they are kept.
 */
export class OrtTrainer extends OrtStepTrainer<TrainStepGraph> {
  private readonly masks: DropoutMasks;

  private constructor(ort: Ort, session: OrtTypes.InferenceSession, graph: TrainStepGraph, options: TrainerOptions) {
    super(
      ort,
      session,
      graph,
      options,
      graph.params.map((p) => Float32Array.from(p.layer.getWeights()[p.index].dataSync())),
    );
    this.masks = new DropoutMasks(options.seed);
  }

  /** Compiles the training step of `model`'s trainable layers and opens its ONNX Runtime session. */
  static async create(model: tfl.LayersModel, options: TrainerOptions): Promise<OrtTrainer> {
    const graph = compileTrainStep(model, { winograd: onCpu(), ...options });
    const { ort, session } = await openStepSession(graph.onnx, `the training graph of ${model.name}`);
    return new OrtTrainer(ort, session, graph, options);
  }

  protected extraFeeds(n: number, train: boolean): Record<string, OrtTypes.Tensor> {
    const feeds: Record<string, OrtTypes.Tensor> = {};
    for (const m of this.graph.masks) {
      const mask = this.masks.draw(n * m.shape.reduce((a, b) => a * b, 1), m.rate, train);
      feeds[m.input] = new this.ort.Tensor('float32', mask, [n, ...m.shape]);
    }
    return feeds;
  }

  /** The dropout masks' draws so far. */
  protected maskDraws(): number {
    return this.masks.drawn;
  }

  /** Skips the dropout masks' stream `n` draws ahead. */
  protected skipMaskDraws(n: number): void {
    this.masks.skip(n);
  }

  /** Copies the trained weights into the tfjs model's layers. */
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
}
