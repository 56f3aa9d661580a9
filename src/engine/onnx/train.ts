// One training step as one ONNX graph: forward through the trainable part of a model, the loss, gradients of
// the trainable weights (reverse mode, see autodiff.ts) and the optimizer update. Weights and optimizer state
// go in as inputs and come out updated; the learning rate is an input, so schedules need no rebuild.
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../../errors.js';
import { Tape, activate, conv2d, dense, flatten, maskMul, maxPool, windowOf } from './autodiff.js';
import { GraphBuilder } from './graph.js';

export type LossName = 'binary_crossentropy' | 'categorical_crossentropy' | 'mse' | 'mae';
export const LOSSES: readonly LossName[] = ['binary_crossentropy', 'categorical_crossentropy', 'mse', 'mae'];

/** Keras's optimizers, with Keras's defaults. */
export type OptimizerSpec =
  | { name: 'sgd'; momentum?: number }
  | { name: 'adam'; beta1?: number; beta2?: number; epsilon?: number }
  | { name: 'rmsprop'; rho?: number; epsilon?: number };

export interface TrainParam {
  layer: tfl.layers.Layer;
  /** Index into `layer.weights`. */
  index: number;
  input: string;
  output: string;
  shape: number[];
  /** Optimizer slots of this weight (momentum, Adam's m and v, …): input and output names. */
  slots: Array<{ input: string; output: string }>;
}

export interface TrainStepGraph {
  onnx: Uint8Array;
  x: string;
  y: string;
  lr: string;
  /** Feature shape of one example (the input of the first trained layer), without the batch. */
  inputShape: number[];
  outputShape: number[];
  masks: Array<{ input: string; rate: number; shape: number[] }>;
  params: TrainParam[];
  loss: string;
  output: string;
}

export interface TrainStepOptions {
  /** First layer of the trained part: the graph's input is that layer's input (cached features). Default: the first layer. */
  from?: string;
  loss: LossName;
  optimizer: OptimizerSpec;
}

/** The model's layers as one chain, nested models opened (a base with a head becomes base layers, head layers). */
function leafChain(model: tfl.LayersModel): tfl.layers.Layer[] {
  return model.layers.flatMap((l) => (l instanceof tfl.LayersModel ? leafChain(l) : l.getClassName() === 'InputLayer' ? [] : [l]));
}

const shapeOf = (s: Array<number | null>) => s.slice(1) as number[];

export function compileTrainStep(model: tfl.LayersModel, options: TrainStepOptions): TrainStepGraph {
  const chain = leafChain(model);
  const start = options.from ? chain.findIndex((l) => l.name === options.from) : 0;
  if (start < 0) throw new TransferkitError(`no layer named '${options.from}' in ${model.name}`);
  const layers = chain.slice(start);
  const first = layers[0].inboundNodes[0].inputTensors;
  if (first.length !== 1) throw new TransferkitError(`layer ${layers[0].name} takes ${first.length} inputs; training starts at a single-input layer`);

  const g = new GraphBuilder(`${model.name}_train_step`);
  const t = new Tape(g);
  const inputShape = shapeOf(first[0].shape as Array<number | null>);
  const x = g.input('x', ['N', ...inputShape]);
  const lr = g.input('lr', []);
  const masks: TrainStepGraph['masks'] = [];
  const params: TrainParam[] = [];

  /** A weight of a layer: a graph input when it trains, a constant when it does not. */
  const weight = (layer: tfl.layers.Layer, index: number): string => {
    const w = layer.weights[index];
    const shape = w.shape as number[];
    if (layer.trainable && w.trainable) {
      const input = g.input(`${w.originalName}`, shape);
      params.push({ layer, index, input, output: '', shape, slots: [] });
      return input;
    }
    return g.constant(w.originalName, layer.getWeights()[index].dataSync() as Float32Array, shape);
  };

  let value = x;
  let preActivation: { logits: string; activation: string } | undefined;
  layers.forEach((layer, i) => {
    const inbound = layer.inboundNodes[layer.inboundNodes.length - 1].inputTensors;
    if (inbound.length !== 1) throw new TransferkitError(`the training compiler handles chains of single-input layers; ${layer.name} has ${inbound.length} inputs`);
    const c = layer.getConfig() as Record<string, unknown>;
    const last = i === layers.length - 1;
    switch (layer.getClassName()) {
      case 'Dense': {
        if ((inbound[0].shape as unknown[]).length !== 2) throw new TransferkitError(`Dense layer ${layer.name} on a rank-${inbound[0].shape.length} input: flatten first`);
        const z = dense(t, value, weight(layer, 0), c.useBias ? weight(layer, 1) : undefined, i > 0);
        if (last) preActivation = { logits: z, activation: c.activation as string };
        value = activate(t, z, c.activation as string);
        break;
      }
      case 'Conv2D': {
        const [, h, w, ci] = inbound[0].shape as number[];
        const [kh, kw] = c.kernelSize as number[];
        const [sh, sw] = c.strides as number[];
        const [dh, dw] = (c.dilationRate as number[] | undefined) ?? [1, 1];
        if (sh !== sw || dh !== 1 || dw !== 1) throw new TransferkitError(`the training compiler handles square strides without dilation; ${layer.name} has strides ${sh}x${sw}, dilation ${dh}x${dw}`);
        if (sh !== 1 && i > 0) throw new TransferkitError(`the training compiler trains a strided convolution only as the first trained layer (${layer.name}); unfreeze from a later layer`);
        const win = windowOf(h, w, kh, kw, sh, c.padding as 'same' | 'valid');
        const z = conv2d(t, value, weight(layer, 0), c.useBias ? weight(layer, 1) : undefined, win, ci, c.filters as number, i > 0);
        value = activate(t, z, c.activation as string);
        break;
      }
      case 'MaxPooling2D': {
        const [, h, w, ch] = inbound[0].shape as number[];
        const [ph, pw] = c.poolSize as number[];
        const [sh, sw] = (c.strides as number[] | undefined) ?? [ph, pw];
        if (ph !== sh || pw !== sw || c.padding !== 'valid' || h % ph !== 0 || w % pw !== 0) {
          throw new TransferkitError(`the training compiler handles max pooling with window = stride over evenly divided inputs; ${layer.name} is ${ph}x${pw}/${sh} over ${h}x${w} (${c.padding})`);
        }
        value = maxPool(t, value, windowOf(h, w, ph, pw, sh, 'valid'), ch);
        break;
      }
      case 'Activation':
        value = activate(t, value, c.activation as string);
        break;
      case 'Flatten':
        value = flatten(t, value);
        break;
      case 'Dropout': {
        const shape = shapeOf(inbound[0].shape as Array<number | null>);
        const mask = g.input(`${layer.name}_mask`, ['N', ...shape]);
        masks.push({ input: mask, rate: c.rate as number, shape });
        value = maskMul(t, value, mask);
        break;
      }
      default:
        throw new TransferkitError(`the training compiler does not train ${layer.getClassName()} layers yet (layer ${layer.name}); use the feature-extraction strategy`);
    }
  });

  const outputShape = shapeOf(model.outputs[0].shape as Array<number | null>);
  const y = g.input('y', ['N', ...outputShape]);
  const { loss, seedValue, seed } = emitLoss(g, options.loss, value, y, preActivation);
  t.backward(seedValue, seed);
  for (const p of params) {
    const grad = t.grad(p.input);
    if (!grad) throw new TransferkitError(`internal: no gradient reaches ${p.input}`);
    emitUpdate(g, p, grad, lr, options.optimizer);
  }
  g.output(loss, []);
  const output = g.op('Identity', [value], {}, 'output');
  g.output(output, ['N', ...outputShape]);
  for (const p of params) {
    g.output(p.output, p.shape);
    for (const s of p.slots) g.output(s.output, p.shape);
  }
  return { onnx: g.encode(), x, y, lr, inputShape, outputShape, masks, params, loss, output };
}

/** Keras's losses (mean over every element), fused with a sigmoid/softmax output for exact, stable gradients. */
function emitLoss(g: GraphBuilder, name: LossName, output: string, y: string, pre?: { logits: string; activation: string }): { loss: string; seedValue: string; seed: string } {
  const count = g.op('Cast', [g.op('Size', [y])], { to: 1 }, 'count');
  const mean = (v: string) => g.op('ReduceMean', [v], { keepdims: 0 }, 'loss');
  switch (name) {
    case 'binary_crossentropy': {
      if (pre?.activation !== 'sigmoid') throw new TransferkitError('binary_crossentropy needs a sigmoid output layer (e.g. dense:1:sigmoid)');
      const z = pre.logits;
      // max(z, 0) - z·y + log(1 + exp(-|z|))
      const elem = g.op('Add', [g.op('Sub', [g.op('Relu', [z]), g.op('Mul', [z, y])]), g.op('Softplus', [g.op('Neg', [g.op('Abs', [z])])])]);
      return { loss: mean(elem), seedValue: z, seed: g.op('Div', [g.op('Sub', [output, y]), count], {}, 'dlogits') };
    }
    case 'categorical_crossentropy': {
      if (pre?.activation !== 'softmax') throw new TransferkitError('categorical_crossentropy needs a softmax output layer (e.g. dense:10:softmax)');
      const z = pre.logits;
      const axis = g.ints('axis_last', [-1]);
      // Opset 17: ReduceSum takes its axes as an input, ReduceLogSumExp as an attribute.
      const perExample = g.op('Sub', [g.op('ReduceLogSumExp', [z], { axes: [-1], keepdims: 0 }), g.op('ReduceSum', [g.op('Mul', [y, z]), axis], { keepdims: 0 })]);
      const n = g.op('Cast', [g.op('Gather', [g.op('Shape', [y]), g.ints('zero_index', [0])], { axis: 0 })], { to: 1 }, 'batch');
      return { loss: mean(perExample), seedValue: z, seed: g.op('Div', [g.op('Sub', [output, y]), n], {}, 'dlogits') };
    }
    case 'mse': {
      const diff = g.op('Sub', [output, y]);
      const seed = g.op('Div', [g.op('Mul', [diff, g.constant('two', [2], [])]), count], {}, 'doutput');
      return { loss: mean(g.op('Mul', [diff, diff])), seedValue: output, seed };
    }
    case 'mae': {
      const diff = g.op('Sub', [output, y]);
      return { loss: mean(g.op('Abs', [diff])), seedValue: output, seed: g.op('Div', [g.op('Sign', [diff]), count], {}, 'doutput') };
    }
  }
}

/** The optimizer's update of one weight (Keras 3's formulas; Adam's bias correction is folded into lr by the caller). */
function emitUpdate(g: GraphBuilder, p: TrainParam, grad: string, lr: string, opt: OptimizerSpec): void {
  const c = (name: string, v: number) => g.constant(name, [v], []);
  const slot = (name: string) => {
    const s = { input: g.input(`${p.input}/${name}`, p.shape), output: '' };
    p.slots.push(s);
    return s;
  };
  switch (opt.name) {
    case 'sgd': {
      const momentum = opt.momentum ?? 0;
      const step = g.op('Mul', [grad, lr]);
      if (momentum === 0) {
        p.output = g.op('Sub', [p.input, step], {}, `${p.input}/new`);
        return;
      }
      const v = slot('momentum');
      v.output = g.op('Sub', [g.op('Mul', [v.input, c('momentum', momentum)]), step], {}, `${p.input}/momentum/new`);
      p.output = g.op('Add', [p.input, v.output], {}, `${p.input}/new`);
      return;
    }
    case 'adam': {
      const [b1, b2, eps] = [opt.beta1 ?? 0.9, opt.beta2 ?? 0.999, opt.epsilon ?? 1e-7];
      const m = slot('m');
      const v = slot('v');
      m.output = g.op('Add', [g.op('Mul', [m.input, c('b1', b1)]), g.op('Mul', [grad, c('1-b1', 1 - b1)])], {}, `${p.input}/m/new`);
      v.output = g.op('Add', [g.op('Mul', [v.input, c('b2', b2)]), g.op('Mul', [g.op('Mul', [grad, grad]), c('1-b2', 1 - b2)])], {}, `${p.input}/v/new`);
      const denom = g.op('Add', [g.op('Sqrt', [v.output]), c('eps', eps)]);
      p.output = g.op('Sub', [p.input, g.op('Mul', [lr, g.op('Div', [m.output, denom])])], {}, `${p.input}/new`);
      return;
    }
    case 'rmsprop': {
      const [rho, eps] = [opt.rho ?? 0.9, opt.epsilon ?? 1e-7];
      const v = slot('velocity');
      v.output = g.op('Add', [g.op('Mul', [v.input, c('rho', rho)]), g.op('Mul', [g.op('Mul', [grad, grad]), c('1-rho', 1 - rho)])], {}, `${p.input}/velocity/new`);
      const denom = g.op('Sqrt', [g.op('Add', [v.output, c('eps', eps)])]);
      p.output = g.op('Sub', [p.input, g.op('Div', [g.op('Mul', [lr, grad]), denom])], {}, `${p.input}/new`);
      return;
    }
  }
}
