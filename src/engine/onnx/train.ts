// One training step as one ONNX graph: forward through the trainable part of a model (keras-layers/'s rules), the
// loss, gradients of the trainable weights (the per-op rules of grad/, with the layers' fused gradients) and the
// optimizer update. Weights and optimizer state go in as inputs and come out updated; the learning rate is an
// input, so schedules need no rebuild.
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../../errors.js';
import { Tape, type TrainGraph, channelsLast, trainRule } from './keras-layers/index.js';
import { GradError, differentiate } from './grad/index.js';
import { pushPools } from './grad/pool-push.js';
import { type LayerCall, walkModel } from './walk.js';
import { emitFoldedMomentum } from './fold-momentum.js';
import { GraphBuilder } from './graph.js';
import { type OptimizerSpec, isDenseKernel } from '../optimizers.js';
import { type LossName, type StepGraph, type StepWeight, emitLoss, emitStepOutputs, emitUpdate } from './step.js';

export type { LossName, OptimizerSpec };

export interface TrainParam extends StepWeight {
  layer: tfl.layers.Layer;
  /** Index into `layer.weights`. */
  index: number;
}

/** A Keras model's step; `inputShape` is the input of the first trained layer. */
export interface TrainStepGraph extends StepGraph {
  masks: Array<{ input: string; rate: number; shape: number[] }>;
  params: TrainParam[];
}

export interface TrainStepOptions {
  /** First layer of the trained part: the graph's input is that layer's input (cached features). Default: the first layer. */
  from?: string;
  loss: LossName;
  optimizer: OptimizerSpec;
  /** Adds a per-example weight input: the loss is Σ wᵢ·lossᵢ / n (Keras's sample_weight). */
  weighted?: boolean;
  /** A layer's rate as a fraction of the fed one (discriminative rates); default 1. */
  lrScale?: (layer: string) => number;
  /** L2 penalty on the trained Dense kernels (see TrainerOptions.l2). */
  l2?: number;
  /** Move a global average pool up through the linear ops before it (see grad/pool-push.ts); default true. */
  pushPools?: boolean;
  /** Wide 3×3 convolutions as Winograd's F(4×4, 3×3), for ONNX Runtime's CPU kernels (see CompileOptions.winograd). */
  winograd?: boolean;
  /** The batch size most steps will have (default 1; any batch runs); see CompileOptions.batchSize. */
  batchSize?: number;
}

const shapeOf = (s: Array<number | null>) => s.slice(1) as number[];

/** A value during the walk: its id (the same in both passes), and its graph name once it is computed here. */
interface Walked {
  id: number;
  name: string | null;
}

/** The gradients of the trained weights: the graph so far (forward and loss) differentiated from the loss's seed. */
function differentiateStep(g: GraphBuilder, seedValue: string, seed: string, params: TrainParam[], t: Tape): Map<string, string> {
  const built = g.graph();
  const forward = { ...built, nodes: [...built.nodes] };
  try {
    return differentiate(g, forward, { loss: { value: seedValue, seed }, wrt: params.map((p) => p.input), fused: t.fused });
  } catch (err) {
    if (err instanceof GradError) throw new TransferkitError(`the training compiler cannot differentiate this model: ${err.message}`);
    throw err;
  }
}

/** One layer of the trained part, forward only (the backward comes from differentiate), by its class's rule. */
function emitTrainLayer(e: TrainGraph, layer: tfl.layers.Layer, xs: string[], call: LayerCall): string[] {
  const { train, unsupported } = trainRule(layer);
  const shapes = call.inputs.map((i) => shapeOf(i.shape as Array<number | null>));
  return train({ e, layer, c: layer.getConfig() as Record<string, unknown>, xs, shapes, unsupported });
}

export function compileTrainStep(model: tfl.LayersModel, options: TrainStepOptions): TrainStepGraph {
  // Pass 1: number every value, and find the one the trained part starts from.
  let counter = 0;
  let startId: number | undefined = options.from ? undefined : 0;
  walkModel<number>(model, [0], (layer, inputs, call) => {
    if (layer.name === options.from) {
      if (inputs.length !== 1) throw new TransferkitError(`layer ${layer.name} takes ${inputs.length} inputs; training starts at a single-input layer`);
      startId = inputs[0];
    }
    return call.outputs.map(() => ++counter);
  });
  if (startId === undefined) throw new TransferkitError(`no layer named '${options.from}' in ${model.name}`);

  // Pass 2: emit every layer downstream of that value, forward and backward.
  const g = new GraphBuilder(`${model.name}_train_step`);
  const t = new Tape(g, options.winograd ?? false, options.batchSize ?? 1);
  const lr = g.input('lr', []);
  const masks: TrainStepGraph['masks'] = [];
  const params: TrainParam[] = [];
  let x: string | undefined;
  let inputShape: number[] = [];
  const e: TrainGraph = {
    g,
    t,
    weight(layer, index) {
      const w = layer.weights[index];
      const shape = w.shape as number[];
      if (layer.trainable && w.trainable) {
        const input = g.input(w.originalName, shape);
        params.push({ layer, index, input, output: '', shape, slots: [] });
        return input;
      }
      return g.constant(w.originalName, layer.getWeights()[index].dataSync() as Float32Array, shape);
    },
    mask(layer, shape, rate) {
      const input = g.input(`${layer.name}_mask`, ['N', ...shape]);
      masks.push({ input, rate, shape });
      return input;
    },
    logits: new Map(),
  };
  counter = 0;
  const [out] = walkModel<Walked>(model, [{ id: 0, name: null }], (layer, inputs, call) => {
    const ids = call.outputs.map(() => ++counter);
    const names = inputs.map((v, i) => {
      if (v.id !== startId) return v.name;
      if (!x) {
        inputShape = shapeOf(call.inputs[i].shape as Array<number | null>);
        x = g.input('x', ['N', ...inputShape]);
      }
      return x;
    });
    if (names.every((n) => n === null)) return ids.map((id) => ({ id, name: null }));
    if (names.some((n) => n === null)) {
      throw new TransferkitError(
        `layer ${layer.name} joins a value from before '${options.from}' (a skip connection across the cut): choose a cut point at the start of a block (transferkit layers)`,
      );
    }
    return emitTrainLayer(e, layer, names as string[], call).map((name, i) => ({ id: ids[i], name }));
  });
  if (!out.name || !x) throw new TransferkitError(`internal: nothing to train after '${options.from}'`);
  const value = channelsLast(t, out.name);
  const outputShape = shapeOf(model.outputs[0].shape as Array<number | null>);
  const y = g.input('y', ['N', ...outputShape]);
  const sampleWeight = options.weighted ? g.input('sample_weight', ['N']) : undefined;
  const { loss, seedValue, seed } = emitLoss(g, options.loss, value, y, e.logits.get(value), sampleWeight);
  // Fused backwards read their values by name: those stay as they are.
  if (options.pushPools !== false) pushPools(g, 17, [value, ...t.fused.keys()]);
  const grads = differentiateStep(g, seedValue, seed, params, t);
  for (const p of params) {
    const grad = grads.get(p.input);
    if (!grad) throw new TransferkitError(`internal: no gradient reaches ${p.input}`);
    const scale = options.lrScale?.(p.layer.name) ?? 1;
    const l2 = options.l2 && isDenseKernel(p.layer, p.index) ? options.l2 : 0;
    const rate = scale === 1 ? lr : g.op('Mul', [lr, g.constant('lr_scale', [scale], [])]);
    if (l2 || !emitFoldedMomentum(g, p, grad, rate, options.optimizer)) emitUpdate(g, p, grad, rate, options.optimizer, l2);
  }
  const output = emitStepOutputs(g, loss, value, ['N', ...outputShape], params);
  return { onnx: g.encode(), x, y, lr, ...(sampleWeight ? { sampleWeight } : {}), inputShape, outputShape, masks, params, loss, output };
}
