// The tail every compiled training step shares, whatever built its forward pass and gradients: Keras's losses
// (fused with a sigmoid/softmax output), the optimizer update of each weight, and the step's outputs.
import { TransferkitError } from '../../errors.js';
import { type Arith, type OptimizerSpec, applyUpdate, slotNames } from '../optimizers.js';
import type { GraphBuilder } from './graph.js';

export type LossName = 'binary_crossentropy' | 'categorical_crossentropy' | 'mse' | 'mae';

/** A trained weight of a step graph: fed in as `input`, given back updated as `output`, with its optimizer slots. */
export interface StepWeight {
  input: string;
  output: string;
  shape: number[];
  /** The shape `output` and the slots' outputs come in where it is not `shape` (the same values in the same order). */
  outputShape?: number[];
  /** Optimizer slots of this weight (momentum, Adam's m and v, …): input and output names. */
  slots: Array<{ input: string; output: string }>;
}

/** What any compiled training step feeds and fetches besides its weights. */
export interface StepGraph {
  onnx: Uint8Array;
  x: string;
  y: string;
  lr: string;
  /** Per-example loss weights (class weights), when compiled with `weighted`. */
  sampleWeight?: string;
  /** Feature shape of one example, without the batch. */
  inputShape: number[];
  outputShape: number[];
  loss: string;
  output: string;
}

/**
 * Keras's losses (mean over every element), fused with a sigmoid/softmax output for exact, stable gradients.
 * With per-example weights w, each example's loss and its gradient are scaled by its weight.
 */
export function emitLoss(
  g: GraphBuilder,
  name: LossName,
  output: string,
  y: string,
  pre?: { logits: string; activation: string },
  w?: string,
): { loss: string; seedValue: string; seed: string } {
  const count = g.op('Cast', [g.op('Size', [y])], { to: 1 }, 'count');
  // A weight per row: [N] for per-example values, [N, 1] against [N, K] element values.
  const column = w ? g.op('Unsqueeze', [w, g.ints('axis_one', [1])], {}, 'weight_column') : undefined;
  const weigh = (v: string, perExample = false) => (w ? g.op('Mul', [v, perExample ? w : (column as string)]) : v);
  const mean = (v: string, perExample = false) => g.op('ReduceMean', [weigh(v, perExample)], { keepdims: 0 }, 'loss');
  switch (name) {
    case 'binary_crossentropy': {
      if (pre?.activation !== 'sigmoid') throw new TransferkitError('binary_crossentropy needs a sigmoid output layer (e.g. dense:1:sigmoid)');
      const z = pre.logits;
      // max(z, 0) - z·y + log(1 + exp(-|z|))
      const elem = g.op('Add', [g.op('Sub', [g.op('Relu', [z]), g.op('Mul', [z, y])]), g.op('Softplus', [g.op('Neg', [g.op('Abs', [z])])])]);
      return { loss: mean(elem), seedValue: z, seed: g.op('Div', [weigh(g.op('Sub', [output, y])), count], {}, 'dlogits') };
    }
    case 'categorical_crossentropy': {
      if (pre?.activation !== 'softmax') throw new TransferkitError('categorical_crossentropy needs a softmax output layer (e.g. dense:10:softmax)');
      const z = pre.logits;
      const axis = g.ints('axis_last', [-1]);
      // log Σ exp(z) as z − LogSoftmax(z) (equal in every column; column 0 taken): ReduceLogSumExp takes its axes
      // as an attribute before opset 18 and as an input from 18 on, and the step runs at the base's opset.
      const logSumExp = g.op('Gather', [g.op('Sub', [z, g.op('LogSoftmax', [z], { axis: -1 })]), g.ints('first', [0])], { axis: -1 });
      const perExample = g.op('Sub', [g.op('Squeeze', [logSumExp, axis]), g.op('ReduceSum', [g.op('Mul', [y, z]), axis], { keepdims: 0 })]);
      const n = g.op('Cast', [g.op('Gather', [g.op('Shape', [y]), g.ints('zero_index', [0])], { axis: 0 })], { to: 1 }, 'batch');
      return { loss: mean(perExample, true), seedValue: z, seed: g.op('Div', [weigh(g.op('Sub', [output, y])), n], {}, 'dlogits') };
    }
    case 'mse': {
      const diff = g.op('Sub', [output, y]);
      const seed = g.op('Div', [weigh(g.op('Mul', [diff, g.constant('two', [2], [])])), count], {}, 'doutput');
      return { loss: mean(g.op('Mul', [diff, diff])), seedValue: output, seed };
    }
    case 'mae': {
      const diff = g.op('Sub', [output, y]);
      return { loss: mean(g.op('Abs', [diff])), seedValue: output, seed: g.op('Div', [weigh(g.op('Sign', [diff])), count], {}, 'doutput') };
    }
  }
}

/**
 * The optimizer's update of one weight (Keras 3's formulas; Adam's bias correction is folded into lr by the caller),
 * with an L2 penalty's gradient when `l2` > 0.
 */
export function emitUpdate(g: GraphBuilder, p: StepWeight, grad: string, lr: string, opt: OptimizerSpec, l2 = 0): void {
  // Scalars take the weight's rank: ORT broadcasts a lower-rank scalar over a tensor whose last dimension is 1 (a
  // depthwise kernel, kh×kw×C×1) one element at a time, 20× slower than at equal rank.
  const ones = p.shape.map(() => 1);
  const rate = ones.length ? g.once(`${lr} at rank ${ones.length}`, () => g.op('Reshape', [lr, g.ints('rank_ones', ones)], {}, 'lr')) : lr;
  const nodes: Arith<string> = {
    add: (a, b) => g.op('Add', [a, b]),
    sub: (a, b) => g.op('Sub', [a, b]),
    mul: (a, b) => g.op('Mul', [a, b]),
    div: (a, b) => g.op('Div', [a, b]),
    sqrt: (a) => g.op('Sqrt', [a]),
    scalar: (name, v) => g.constant(name, [v], ones),
  };
  const names = slotNames(opt);
  const inputs = names.map((name) => g.input(`${p.input}/${name}`, p.shape));
  const next = applyUpdate(nodes, opt, p.input, grad, rate, inputs, l2);
  // The update's own values are the outputs: an Identity per output copied each weight and slot every step.
  p.output = next.w;
  names.forEach((_, i) => p.slots.push({ input: inputs[i], output: next.slots[i] }));
}

/** Declares a step's outputs: the loss, the model's output (for metrics), every updated weight and slot. */
export function emitStepOutputs(g: GraphBuilder, loss: string, value: string, outputDims: Array<number | string>, params: StepWeight[]): string {
  g.output(loss, []);
  const output = g.op('Identity', [value], {}, 'output');
  g.output(output, outputDims);
  for (const p of params) {
    g.output(p.output, p.outputShape ?? p.shape);
    for (const s of p.slots) g.output(s.output, p.outputShape ?? p.shape);
  }
  return output;
}
