// Keras's activations, one rule per name: the ops (the same in both graphs, `axis` being the channel axis), and
// for training a different forward where one gives a fused backward (swish, hard_swish) or the step was built
// with other ops (gelu); the rest train through the per-op rules. Plus the layers that are only an activation.
import { TransferkitError } from '../../../errors.js';
import { geluCdf, geluSlope } from '../grad/gelu.js';
import type { GraphBuilder } from '../graph.js';
import { channelsLast, markChannelsFirst } from './channels-first.js';
import type { Tape } from './tape.js';
import type { LayerRule, TrainGraph, Value } from './types.js';

export interface ActivationRule {
  forward(g: GraphBuilder, x: string, axis: number): string;
  /** The training graph's forward where it differs from `forward`. */
  train?(t: Tape, x: string): string;
}

const unary =
  (op: string, attrs = {}): ActivationRule['forward'] =>
  (g, x) =>
    g.op(op, [x], attrs);

/**
 * x·σ(x); fused for training: d(x·σ(x))/dx = σ + x·σ·(1 − σ) = σ + y·(1 − σ) with y the output, four full-size
 * passes with the product by dY (as σ·(1 + x·(1 − σ)): five).
 */
function swish(t: Tape, x: string): string {
  const { g } = t;
  const s = g.op('Sigmoid', [x]);
  const y = g.op('Mul', [x, s], {}, 'swish');
  t.fuse(y, [x], (dy) => {
    const one = g.constant('one', [1], []);
    return [g.op('Mul', [dy, g.op('Add', [s, g.op('Mul', [y, g.op('Sub', [one, s])])])], {}, 'dswish')];
  });
  return y;
}

/**
 * min(max(x, 0), 6); fused for training: the gradient passes where the clip left x as it was (0 ≤ x ≤ 6, the
 * Clip rule's interval): one comparison, a cast and a product instead of two comparisons, an And and a Where.
 */
function relu6Train(t: Tape, x: string): string {
  const { g } = t;
  const y = g.op('Clip', [x, g.constant('zero', [0], []), g.constant('six', [6], [])], {}, 'relu6');
  t.fuse(y, [x], (dy) => [g.op('Mul', [dy, g.op('Cast', [g.op('Equal', [y, x])], { to: 1 })], {}, 'drelu6')]);
  return y;
}

/** Keras 3's x · relu6(x + 3) / 6 (MobileNetV3), trained as clip; fused: 0 below −3, 1 above 3, (2x + 3)/6 between. */
function hardSwishTrain(t: Tape, x: string): string {
  const { g } = t;
  const zero = () => g.constant('zero', [0], []);
  const three = g.constant('three', [3], []);
  const sixth = g.constant('sixth', [1 / 6], []);
  const y = g.op('Mul', [x, g.op('Mul', [g.op('Clip', [g.op('Add', [x, three]), zero(), g.constant('six', [6], [])]), sixth])], {}, 'hard_swish');
  t.fuse(y, [x], (dy) => {
    const middle = g.op('Mul', [g.op('Add', [g.op('Add', [x, x]), three]), sixth]);
    const d = g.op('Where', [
      g.op('Less', [x, g.constant('minus_three', [-3], [])]),
      zero(),
      g.op('Where', [g.op('Greater', [x, three]), g.constant('one', [1], []), middle]),
    ]);
    return [g.op('Mul', [dy, d], {}, 'dhard_swish')];
  });
  return y;
}

/** Exact GELU for training, fused: Φ(x) and x/√2 kept from the forward; 10 full-size passes where the per-op rules take 15. */
function geluTrain(t: Tape, x: string): string {
  const { g } = t;
  const { u, cdf } = geluCdf(g, x);
  const y = g.op('Mul', [x, cdf], {}, 'gelu');
  t.fuse(y, [x], (dy) => [g.op('Mul', [dy, geluSlope(g, x, u, cdf)], {}, 'dgelu')]);
  return y;
}

const hardSigmoid: ActivationRule = { forward: unary('HardSigmoid', { alpha: { float: 0.2 }, beta: { float: 0.5 } }) };
const hardSwish: ActivationRule = {
  // ONNX's HardSigmoid with alpha 1/6, beta 1/2.
  forward: (g, x) => g.op('Mul', [x, g.op('HardSigmoid', [x], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } })]),
  train: hardSwishTrain,
};

export const ACTIVATIONS: Readonly<Record<string, ActivationRule>> = {
  linear: { forward: (_g, x) => x },
  relu: { forward: unary('Relu') },
  relu6: { forward: (g, x) => g.op('Clip', [x, g.constant('zero', [0], []), g.constant('six', [6], [])]), train: relu6Train },
  sigmoid: { forward: unary('Sigmoid') },
  tanh: { forward: unary('Tanh') },
  elu: { forward: unary('Elu') },
  selu: { forward: unary('Selu', { alpha: { float: 1.6732632423543772 }, gamma: { float: 1.0507009873554805 } }) },
  softplus: { forward: unary('Softplus') },
  softsign: { forward: unary('Softsign') },
  hard_sigmoid: hardSigmoid,
  hardSigmoid,
  softmax: { forward: (g, x, axis) => g.op('Softmax', [x], { axis }) },
  swish: { forward: (g, x) => g.op('Mul', [x, g.op('Sigmoid', [x])]), train: swish },
  hard_swish: hardSwish,
  hardSwish,
  mish: { forward: (g, x) => g.op('Mul', [x, g.op('Tanh', [g.op('Softplus', [x])])]) },
  gelu: {
    // Exact GELU, x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2.
    forward: (g, x) => {
      const erf = g.op('Erf', [g.op('Div', [x, g.constant('sqrt2', [Math.SQRT2], [])])]);
      const half = g.op('Mul', [x, g.constant('half', [0.5], [])]);
      return g.op('Mul', [half, g.op('Add', [erf, g.constant('one', [1], [])])]);
    },
    train: geluTrain,
  },
};

function activationRule(name: string): ActivationRule {
  const rule = Object.hasOwn(ACTIVATIONS, name) ? ACTIVATIONS[name] : undefined;
  if (!rule) throw new TransferkitError(`the ONNX compiler does not support activation '${name}'`);
  return rule;
}

/** An activation in the inference graph (NCHW: the channels are axis 1 of a feature map). */
export function activation(g: GraphBuilder, v: Value, name: string): Value {
  const y = activationRule(name).forward(g, v.name, v.rank === 4 ? 1 : -1);
  return y === v.name ? v : { name: y, rank: v.rank };
}

/** An activation in the training graph (NHWC); sigmoid and softmax outputs keep their logits for the fused losses. */
export function activate(t: Tape, x: string, name: string): string {
  const rule = activationRule(name);
  // Every activation but softmax works per element: a channels-first value (channels-first.ts) keeps its layout.
  const cf = t.channelsFirst.get(x);
  if (cf && name === 'softmax') return activate(t, channelsLast(t, x), name);
  const y = rule.train ? rule.train(t, x) : rule.forward(t.g, x, -1);
  return cf ? markChannelsFirst(t, y, cf) : y;
}

export function trainActivation(e: TrainGraph, z: string, name: string): string {
  const y = activate(e.t, z, name);
  if (name === 'sigmoid' || name === 'softmax') e.logits.set(y, { logits: z, activation: name });
  return y;
}

export const activationLayers: Record<string, LayerRule> = {
  Activation: {
    channelsFirst: true,
    infer: ({ g, c, inputs: [x] }) => [activation(g, x, c.activation as string)],
    train: ({ e, c, xs: [x] }) => [trainActivation(e, x, c.activation as string)],
  },
  ReLU: {
    channelsFirst: true,
    infer: ({ g, layer, c, inputs: [x] }) => {
      const max = c.maxValue as number | null | undefined;
      if (max == null) return [activation(g, x, 'relu')];
      return [{ name: g.op('Clip', [x.name, g.constant('zero', [0], []), g.constant(`${layer.name}_max`, [max], [])], {}, layer.name), rank: x.rank }];
    },
    train: ({ e, c, xs: [x], unsupported }) => {
      const max = c.maxValue as number | null | undefined;
      if (max != null && max !== 6) throw unsupported(`ReLU capped at ${max} (6 or none only)`);
      return [activate(e.t, x, max == null ? 'relu' : 'relu6')];
    },
  },
};
