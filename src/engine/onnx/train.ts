// One training step as one ONNX graph: forward through the trainable part of a model (autodiff.ts's ops), the
// loss, gradients of the trainable weights (the per-op rules of grad/, with autodiff.ts's fused gradients) and the
// optimizer update. Weights and optimizer state go in as inputs and come out updated; the learning rate is an
// input, so schedules need no rebuild.
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../../errors.js';
import {
  Tape,
  type Window,
  activate,
  affine,
  avgPool,
  batchNorm,
  combine,
  concatLast,
  conv2d,
  crop,
  dense,
  depthwiseConv2d,
  flatten,
  globalPool,
  layerNorm,
  layerScale,
  maskMul,
  maxPool,
  maxPoolWindows,
  reshape,
  windowOf,
  zeroPad,
} from './autodiff.js';
import { GradError, differentiate } from './grad/index.js';
import { type LayerCall, walkModel } from './walk.js';
import { GraphBuilder } from './graph.js';
import type { OptimizerSpec } from '../optimizers.js';
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
}

const shapeOf = (s: Array<number | null>) => s.slice(1) as number[];

/** A value during the walk: its id (the same in both passes), and its graph name once it is computed here. */
interface Walked {
  id: number;
  name: string | null;
}

/** The values a trained layer is fed, and its graph context. */
interface Emit {
  g: GraphBuilder;
  t: Tape;
  /** A weight as a graph input (trainable) or a constant. */
  weight(layer: tfl.layers.Layer, index: number): string;
  mask(layer: tfl.layers.Layer, shape: number[], rate: number): string;
  /** Pre-activation values of sigmoid/softmax outputs, for the fused losses. */
  logits: Map<string, { logits: string; activation: string }>;
}

function withActivation(e: Emit, z: string, activation: string): string {
  const y = activate(e.t, z, activation);
  if (activation === 'sigmoid' || activation === 'softmax') e.logits.set(y, { logits: z, activation });
  return y;
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

/** One layer of the trained part, forward only (the backward comes from differentiate). */
function emitTrainLayer(e: Emit, layer: tfl.layers.Layer, xs: string[], call: LayerCall): string[] {
  const { g, t } = e;
  const c = layer.getConfig() as Record<string, unknown>;
  const inShapes = call.inputs.map((i) => shapeOf(i.shape as Array<number | null>));
  const [x] = xs;
  const [shape] = inShapes;
  const unsupported = (why: string) => new TransferkitError(`the training compiler cannot train ${layer.name} (${layer.getClassName()}): ${why}`);
  const window = (): Window => {
    const [kh, kw] = c.kernelSize as number[];
    const [sh, sw] = c.strides as number[];
    const [dh, dw] = (c.dilationRate as number[] | undefined) ?? [1, 1];
    if (sh !== sw || dh !== 1 || dw !== 1) throw unsupported(`strides ${sh}x${sw}, dilation ${dh}x${dw} (square strides without dilation only)`);
    return windowOf(shape[0], shape[1], kh, kw, sh, c.padding as 'same' | 'valid');
  };
  switch (layer.getClassName()) {
    case 'Dense':
      return [withActivation(e, dense(t, x, e.weight(layer, 0), c.useBias ? e.weight(layer, 1) : undefined), c.activation as string)];
    case 'LayerNormalization': {
      const axes = ([] as number[]).concat(c.axis as number | number[]);
      if (!(axes.length === 1 && (axes[0] === -1 || axes[0] === shape.length))) throw unsupported('normalising axes other than the last');
      if (!c.center || !c.scale) throw unsupported('without centre or scale');
      return [layerNorm(t, x, e.weight(layer, 0), e.weight(layer, 1), c.epsilon as number)];
    }
    case 'LayerScale':
      return [layerScale(t, x, e.weight(layer, 0))];
    case 'Conv2D': {
      const z = conv2d(t, x, e.weight(layer, 0), c.useBias ? e.weight(layer, 1) : undefined, window(), shape[2], c.filters as number);
      return [withActivation(e, z, c.activation as string)];
    }
    case 'DepthwiseConv2D': {
      if (((c.depthMultiplier as number | undefined) ?? 1) !== 1) throw unsupported('depth multiplier other than 1');
      const z = depthwiseConv2d(t, x, e.weight(layer, 0), c.useBias ? e.weight(layer, 1) : undefined, window(), shape[2]);
      return [withActivation(e, z, c.activation as string)];
    }
    case 'SeparableConv2D': {
      if (((c.depthMultiplier as number | undefined) ?? 1) !== 1) throw unsupported('depth multiplier other than 1');
      const dw = depthwiseConv2d(t, x, e.weight(layer, 0), undefined, window(), shape[2]);
      const win = window();
      const pw = conv2d(
        t,
        dw,
        e.weight(layer, 1),
        c.useBias ? e.weight(layer, 2) : undefined,
        windowOf(win.oh, win.ow, 1, 1, 1, 'valid'),
        shape[2],
        c.filters as number,
      );
      return [withActivation(e, pw, c.activation as string)];
    }
    case 'BatchNormalization': {
      const axis = c.axis as number;
      if (axis !== -1 && axis !== shape.length) throw unsupported('normalising an axis other than the last');
      const names = layer.weights.map((w) => w.originalName.split('/').pop());
      const at = (n: string) => names.indexOf(n);
      const values = layer.getWeights();
      const n = shape[shape.length - 1];
      const gamma = at('gamma') >= 0 ? e.weight(layer, at('gamma')) : g.constant('ones', new Float32Array(n).fill(1), [n]);
      const beta = at('beta') >= 0 ? e.weight(layer, at('beta')) : g.constant('zeros', new Float32Array(n), [n]);
      const stat = (s: string) => values[at(s)].dataSync() as Float32Array;
      return [batchNorm(t, x, gamma, beta, stat('moving_mean'), stat('moving_variance'), c.epsilon as number, shape.length + 1)];
    }
    case 'Activation':
      return [withActivation(e, x, c.activation as string)];
    case 'Rescaling': {
      // Constants broadcast over the last (channel) axis of the NHWC values trained here.
      const constant = (name: string, v: number | number[]) => (Array.isArray(v) ? g.constant(name, v, [v.length]) : g.constant(name, [v], []));
      const offset = c.offset as number | number[];
      const hasOffset = Array.isArray(offset) || offset !== 0;
      return [affine(t, x, constant(`${layer.name}_scale`, c.scale as number | number[]), hasOffset ? constant(`${layer.name}_offset`, offset) : undefined)];
    }
    case 'ReLU': {
      const max = c.maxValue as number | null | undefined;
      if (max != null && max !== 6) throw unsupported(`ReLU capped at ${max} (6 or none only)`);
      return [activate(t, x, max == null ? 'relu' : 'relu6')];
    }
    case 'Flatten':
      return [flatten(t, x)];
    case 'Reshape':
      return [reshape(t, x, c.targetShape as number[])];
    case 'Dropout': {
      const noise = c.noiseShape as Array<number | null> | null | undefined;
      const maskShape = noise ? noise.slice(1).map((d, i) => d ?? shape[i]) : shape;
      return [maskMul(t, x, e.mask(layer, maskShape, c.rate as number))];
    }
    case 'MaxPooling2D': {
      const [ph, pw] = c.poolSize as number[];
      const [sh, sw] = (c.strides as number[] | undefined) ?? [ph, pw];
      if (c.padding !== 'valid' || sh !== sw) throw unsupported(`max pooling ${ph}x${pw}/${sh}x${sw} (${c.padding}); 'valid' with square strides only`);
      const win = windowOf(shape[0], shape[1], ph, pw, sh, 'valid');
      // Non-overlapping windows tiling the input reshape into blocks; others (NASNet's 3×3/2) gather.
      if (ph === sh && pw === sw && shape[0] % ph === 0 && shape[1] % pw === 0) return [maxPool(t, x, win, shape[2])];
      return [maxPoolWindows(t, x, win, shape[2])];
    }
    case 'AveragePooling2D': {
      const [ph, pw] = c.poolSize as number[];
      const [sh, sw] = (c.strides as number[] | undefined) ?? [ph, pw];
      if (sh !== sw) throw unsupported(`average pooling with strides ${sh}x${sw} (square strides only)`);
      return [avgPool(t, x, windowOf(shape[0], shape[1], ph, pw, sh, c.padding as 'same' | 'valid'), shape[2])];
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      return [globalPool(t, x, layer.getClassName() === 'GlobalAveragePooling2D' ? 'avg' : 'max')];
    case 'Cropping2D':
      return [crop(t, x, c.cropping as number[][], shape[0], shape[1])];
    case 'ZeroPadding2D':
      return [zeroPad(t, x, c.padding as number[][])];
    case 'Add':
    case 'Multiply':
      return [combine(t, layer.getClassName() === 'Add' ? 'Add' : 'Mul', xs)];
    case 'CustomScaleLayer': {
      const residual = affine(t, xs[1], g.constant(`${layer.name}_scale`, [c.scale as number], []), undefined);
      return [combine(t, 'Add', [x, residual])];
    }
    case 'Concatenate': {
      const axis = c.axis as number;
      if (axis !== -1 && axis !== shape.length) throw unsupported('concatenation along an axis other than the last');
      return [concatLast(t, xs)];
    }
    default:
      throw new TransferkitError(
        `the training compiler does not train ${layer.getClassName()} layers yet (layer ${layer.name}); use the feature-extraction strategy`,
      );
  }
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
  const t = new Tape(g);
  const lr = g.input('lr', []);
  const masks: TrainStepGraph['masks'] = [];
  const params: TrainParam[] = [];
  let x: string | undefined;
  let inputShape: number[] = [];
  const e: Emit = {
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
  const value = out.name;
  const outputShape = shapeOf(model.outputs[0].shape as Array<number | null>);
  const y = g.input('y', ['N', ...outputShape]);
  const sampleWeight = options.weighted ? g.input('sample_weight', ['N']) : undefined;
  const { loss, seedValue, seed } = emitLoss(g, options.loss, value, y, e.logits.get(value), sampleWeight);
  const grads = differentiateStep(g, seedValue, seed, params, t);
  for (const p of params) {
    const grad = grads.get(p.input);
    if (!grad) throw new TransferkitError(`internal: no gradient reaches ${p.input}`);
    const scale = options.lrScale?.(p.layer.name) ?? 1;
    emitUpdate(g, p, grad, scale === 1 ? lr : g.op('Mul', [lr, g.constant('lr_scale', [scale], [])]), options.optimizer);
  }
  const output = emitStepOutputs(g, loss, value, ['N', ...outputShape], params);
  return { onnx: g.encode(), x, y, lr, ...(sampleWeight ? { sampleWeight } : {}), inputShape, outputShape, masks, params, loss, output };
}
