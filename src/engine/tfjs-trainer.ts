// The fallback engine's trainer: the trained part of the model runs eagerly in tfjs (wasm, with the conv
// gradient kernels of kernels/conv-grads.ts), with tfjs autograd, the same losses, dropout masks and Keras
// optimizer updates as the compiled ONNX step, so both engines train alike.
import { tf } from '../tfjs.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../errors.js';
import { type BackendName, initBackend } from './backend.js';
import type { LossName } from './onnx/train.js';
import { walkModel } from './onnx/walk.js';
import { type Arith, applyUpdate, isDenseKernel, slotNames, stepSize } from './optimizers.js';
import { DropoutMasks, type StepResult, type Trainer, type TrainerOptions } from './training.js';

const tensors: Arith<tf.Tensor> = {
  add: tf.add,
  sub: tf.sub,
  mul: tf.mul,
  div: tf.div,
  sqrt: tf.sqrt,
  scalar: (_, v) => tf.scalar(v),
};

interface Plan {
  /** Id of the symbolic tensor the trained part starts from. */
  start: number;
  inputShape: number[];
  trained: tfl.LayersModel['layers'];
  /** Dropout layers among the trained ones: their rate and noise shape. */
  dropout: Map<tfl.layers.Layer, { rate: number; noiseShape?: Array<number | null> | null }>;
  /** The last layer, when it is a Dense whose sigmoid/softmax the loss takes from logits. */
  fused?: { layer: tfl.layers.Layer; activation: 'sigmoid' | 'softmax' };
}

function plan(model: tfl.LayersModel, from: string | undefined): Plan {
  let start: tfl.SymbolicTensor | undefined;
  let last: tfl.layers.Layer | undefined;
  walkModel<null>(model, [null], (layer, _, call) => {
    if (!start && (from === undefined || layer.name === from)) {
      if (call.inputs.length !== 1)
        throw new TransferkitError(`layer ${layer.name} takes ${call.inputs.length} inputs; training starts at a single-input layer`);
      start = call.inputs[0];
    }
    last = layer;
    return call.outputs.map(() => null);
  });
  if (!start || !last) throw new TransferkitError(`no layer named '${from}' in ${model.name}`);
  const id = start.id;
  const trained: tfl.layers.Layer[] = [];
  walkModel<boolean>(model, [false], (layer, inputs, call) => {
    const after = inputs.some((v, i) => v || call.inputs[i].id === id);
    if (after) trained.push(layer);
    return call.outputs.map(() => after);
  });
  // Layer configs read once here, not on every step.
  const dropout = new Map(
    trained.filter((l) => l.getClassName() === 'Dropout').map((l) => [l, l.getConfig() as { rate: number; noiseShape?: Array<number | null> | null }]),
  );
  const finalLayer = last as tfl.layers.Layer;
  const activation = (finalLayer.getConfig() as { activation?: string }).activation;
  const fused =
    finalLayer.getClassName() === 'Dense' && (activation === 'sigmoid' || activation === 'softmax')
      ? { layer: finalLayer, activation: activation as 'sigmoid' | 'softmax' }
      : undefined;
  return { start: id, inputShape: start.shape.slice(1) as number[], trained, dropout, ...(fused ? { fused } : {}) };
}

/** The pre-activation of a Dense layer, so the loss can use logits as Keras's fused losses do. */
function denseLogits(layer: tfl.layers.Layer, x: tf.Tensor): tf.Tensor {
  const [kernel, bias] = layer.weights;
  const z = tf.matMul(x as tf.Tensor2D, kernel.read() as tf.Tensor2D);
  return bias ? tf.add(z, bias.read()) : z;
}

/**
 * Keras's losses, mean over every element; cross-entropies from logits, exactly as the ONNX step computes them.
 * Per-example weights `w` ([N]) scale each example's loss.
 */
function lossOf(name: LossName, y: tf.Tensor, out: { z?: tf.Tensor; p: tf.Tensor }, w?: tf.Tensor1D): tf.Scalar {
  const weigh = (v: tf.Tensor) => (w ? tf.mul(v, v.rank === 1 ? w : tf.expandDims(w, 1)) : v);
  switch (name) {
    case 'binary_crossentropy':
      if (!out.z) throw new TransferkitError('binary_crossentropy needs a sigmoid output layer (e.g. dense:1:sigmoid)');
      return tf.mean(weigh(tf.add(tf.sub(tf.relu(out.z), tf.mul(out.z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(out.z)))))));
    case 'categorical_crossentropy':
      if (!out.z) throw new TransferkitError('categorical_crossentropy needs a softmax output layer (e.g. dense:N:softmax)');
      return tf.neg(tf.mean(weigh(tf.sum(tf.mul(y, tf.logSoftmax(out.z)), -1)))) as tf.Scalar;
    case 'mse':
      return tf.mean(weigh(tf.squaredDifference(out.p, y)));
    case 'mae':
      return tf.mean(weigh(tf.abs(tf.sub(out.p, y))));
  }
}

export class TfjsTrainer implements Trainer {
  private readonly variables: tf.Variable[];
  /** Each variable's rate as a fraction of the step's (discriminative rates). */
  private readonly scales: number[];
  /** Each variable's L2 penalty (a Dense kernel's: options.l2; others 0). */
  private readonly l2: number[];
  private readonly slots: tf.Variable[][];
  private readonly masks: DropoutMasks;
  private iterations = 0;

  private constructor(
    readonly engine: BackendName,
    private readonly model: tfl.LayersModel,
    private readonly plan: Plan,
    private readonly options: TrainerOptions,
  ) {
    const owned = plan.trained
      .filter((l) => l.trainable)
      .flatMap((l) =>
        l.trainableWeights.map((w, i) => ({
          v: w.read() as tf.Variable,
          scale: options.lrScale?.(l.name) ?? 1,
          l2: isDenseKernel(l, i) ? (options.l2 ?? 0) : 0,
        })),
      );
    this.variables = owned.map((o) => o.v);
    this.scales = owned.map((o) => o.scale);
    this.l2 = owned.map((o) => o.l2);
    this.slots = this.variables.map((v) => slotNames(options.optimizer).map(() => tf.variable(tf.zeros(v.shape), false)));
    this.masks = new DropoutMasks(options.seed);
  }

  static async create(model: tfl.LayersModel, options: TrainerOptions, engine: BackendName): Promise<TfjsTrainer> {
    await initBackend(engine);
    return new TfjsTrainer(engine, model, plan(model, options.from), options);
  }

  /** The trained part, eagerly: layers in inference mode (BatchNormalization's moving statistics stay), dropout by mask. */
  private forward(x: tf.Tensor, train: boolean): { z?: tf.Tensor; p: tf.Tensor } {
    const n = x.shape[0];
    let fused: { z?: tf.Tensor; p: tf.Tensor } | undefined;
    const [p] = walkModel<tf.Tensor | null>(this.model, [null], (layer, inputs, call) => {
      const xs = inputs.map((v, i) => (call.inputs[i].id === this.plan.start ? x : v));
      if (xs.every((v) => v === null)) return call.outputs.map(() => null);
      if (xs.some((v) => v === null)) {
        throw new TransferkitError(
          `layer ${layer.name} joins a value from before '${this.options.from}' (a skip connection across the cut): choose a cut point at the start of a block (transferkit layers)`,
        );
      }
      const ins = xs as tf.Tensor[];
      const drop = this.plan.dropout.get(layer);
      if (drop) {
        const shape = ins[0].shape.slice(1);
        const maskShape = drop.noiseShape ? drop.noiseShape.slice(1).map((d, i) => d ?? shape[i]) : shape;
        const mask = this.masks.draw(n * maskShape.reduce((a, b) => a * b, 1), drop.rate, train);
        return [tf.mul(ins[0], tf.tensor(mask, [n, ...maskShape]))];
      }
      const f = this.plan.fused;
      if (f && layer === f.layer && ins[0].rank === 2) {
        const z = denseLogits(layer, ins[0]);
        fused = { z, p: f.activation === 'sigmoid' ? tf.sigmoid(z) : tf.softmax(z) };
        return [fused.p];
      }
      const y = layer.apply(ins.length === 1 ? ins[0] : ins, { training: false }) as tf.Tensor | tf.Tensor[];
      return Array.isArray(y) ? y : [y];
    });
    if (!p) throw new TransferkitError(`internal: nothing to train after '${this.options.from}'`);
    return fused ?? { p };
  }

  private batch(x: Float32Array, y: Float32Array, n: number): [tf.Tensor, tf.Tensor] {
    const outputShape = this.model.outputs[0].shape.slice(1) as number[];
    return [tf.tensor(x, [n, ...this.plan.inputShape], 'float32'), tf.tensor(y, [n, ...outputShape], 'float32')];
  }

  private async read(r: { loss: tf.Scalar; p: tf.Tensor }): Promise<StepResult> {
    try {
      return { loss: (await r.loss.data())[0], output: Float32Array.from(await r.p.data()) };
    } finally {
      tf.dispose([r.loss, r.p]);
    }
  }

  async step(x: Float32Array, y: Float32Array, n: number, lr: number, weights?: Float32Array): Promise<StepResult> {
    this.iterations++;
    const rate = stepSize(this.options.optimizer, lr, this.iterations);
    const result = tf.tidy(() => {
      const [xt, yt] = this.batch(x, y, n);
      let p: tf.Tensor | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const out = this.forward(xt, true);
        p = tf.keep(out.p);
        return lossOf(this.options.loss, yt, out, weights ? tf.tensor1d(weights) : undefined);
      }, this.variables);
      this.variables.forEach((v, i) => {
        const next = applyUpdate(tensors, this.options.optimizer, v, grads[v.name], tf.scalar(rate * this.scales[i]), this.slots[i], this.l2[i]);
        v.assign(next.w);
        next.slots.forEach((s, k) => this.slots[i][k].assign(s));
      });
      return { loss: value, p: p as tf.Tensor };
    });
    return this.read(result);
  }

  async evaluate(x: Float32Array, y: Float32Array, n: number): Promise<StepResult> {
    return this.read(
      tf.tidy(() => {
        const [xt, yt] = this.batch(x, y, n);
        const out = this.forward(xt, false);
        return { loss: lossOf(this.options.loss, yt, out), p: out.p };
      }),
    );
  }

  snapshot(): Float32Array[] {
    return this.variables.map((v) => Float32Array.from(v.dataSync()));
  }

  restore(values: Float32Array[]): void {
    this.variables.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(values[i], v.shape))));
  }

  /** The weights were trained in place: the model already holds them. */
  writeBack(): void {}

  async dispose(): Promise<void> {
    tf.dispose(this.slots.flat());
  }
}
