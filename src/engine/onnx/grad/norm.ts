// Gradients of normalisations and softmax: LayerNormalization and InstanceNormalization (statistics recomputed
// from X), BatchNormalization in inference mode (fixed statistics: an affine map per channel), Softmax and
// LogSoftmax (opset ≥ 13 semantics: one axis).
import { type GradContext, type GradRule, countOf, dimsOf, rankOf, reduceSum, scalar, unbroadcast, unsupported } from './context.js';
import { attr } from './dims.js';

/**
 * x normalised over `axes` (statistics recomputed from x, as the forward op did), and dX given dx̂ = dY·scale:
 * dX = inv·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)).
 */
function standardised(c: GradContext, x: string, axes: number[], epsilon: number) {
  const { g } = c;
  const n = countOf(c, x, axes);
  const mean = (v: string) => g.op('Div', [reduceSum(g, v, axes, 1), n]);
  const centred = g.op('Sub', [x, mean(x)]);
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [mean(g.op('Mul', [centred, centred])), scalar(g, epsilon, 'eps')])])]);
  const xhat = g.op('Mul', [centred, inv], {}, 'xhat');
  const inputGrad = (dxhat: string) =>
    g.op('Mul', [inv, g.op('Sub', [g.op('Sub', [dxhat, mean(dxhat)]), g.op('Mul', [xhat, mean(g.op('Mul', [dxhat, xhat]))])])], {}, 'dnorm');
  return { xhat, inputGrad };
}

const layerNormalization: GradRule = (c) => {
  const { g, node } = c;
  const [x, scale, bias] = node.inputs;
  if (node.outputs.slice(1).some((_, i) => c.dy(i + 1))) throw unsupported(node, 'gradients through its Mean/InvStdDev outputs');
  const dy = c.dy() as string;
  const rank = rankOf(c, x);
  const axis = attr(node, 'axis', -1);
  const axes = Array.from({ length: rank - (axis < 0 ? axis + rank : axis) }, (_, i) => rank - 1 - i).reverse();
  const { xhat, inputGrad } = standardised(c, x, axes, attr(node, 'epsilon', 1e-5));
  const yDims = dimsOf(c, node.outputs[0]);
  const dx = c.wants(0) ? inputGrad(g.op('Mul', [dy, scale])) : undefined;
  const dscale = c.wants(1) ? unbroadcast(c, g.op('Mul', [dy, xhat]), yDims, scale) : undefined;
  const db = bias && c.wants(2) ? unbroadcast(c, dy, yDims, bias) : undefined;
  return [dx, dscale, db];
};

/** [C] as [C, 1, …] against a channels-first value of rank `rank`. */
const perChannel = (c: GradContext, v: string, rank: number) =>
  rank === 2 ? v : c.g.op('Reshape', [v, c.g.ints('shape', [-1, ...new Array(rank - 2).fill(1)])]);

/** Each (example, channel) normalised over its spatial positions; GroupNorm exports put a Reshape around it. */
const instanceNormalization: GradRule = (c) => {
  const { g, node } = c;
  const [x, scale] = node.inputs;
  const dy = c.dy() as string;
  const rank = rankOf(c, x);
  const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
  const { xhat, inputGrad } = standardised(c, x, spatial, attr(node, 'epsilon', 1e-5));
  const dx = c.wants(0) ? inputGrad(g.op('Mul', [dy, perChannel(c, scale, rank)])) : undefined;
  const dscale = c.wants(1) ? reduceSum(g, g.op('Mul', [dy, xhat]), [0, ...spatial], 0, 'dscale') : undefined;
  const db = c.wants(2) ? reduceSum(g, dy, [0, ...spatial], 0, 'dbias') : undefined;
  return [dx, dscale, db];
};

const batchNormalization: GradRule = (c) => {
  const { g, node } = c;
  const [x, scale, , mean, variance] = node.inputs;
  if (attr(node, 'training_mode', 0) === 1)
    throw unsupported(node, 'training_mode=1 (batch statistics); fine-tuning keeps BatchNormalization in inference mode');
  const dy = c.dy() as string;
  const rank = rankOf(c, x);
  const inv = perChannel(c, g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, scalar(g, attr(node, 'epsilon', 1e-5), 'eps')])])]), rank);
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const dx = c.wants(0) ? g.op('Mul', [dy, g.op('Mul', [perChannel(c, scale, rank), inv])], {}, 'dbn') : undefined;
  const xhat = c.wants(1) ? g.op('Mul', [g.op('Sub', [x, perChannel(c, mean, rank)]), inv], {}, 'bn_xhat') : undefined;
  const dscale = xhat ? reduceSum(g, g.op('Mul', [dy, xhat]), axes, 0, 'dscale') : undefined;
  const db = c.wants(2) ? reduceSum(g, dy, axes, 0, 'dbias') : undefined;
  return [dx, dscale, db];
};

const softmaxAxis = (c: Parameters<GradRule>[0]) => {
  const axis = attr(c.node, 'axis', -1);
  return axis < 0 ? axis + rankOf(c, c.node.inputs[0]) : axis;
};

export const normRules: Record<string, GradRule> = {
  LayerNormalization: layerNormalization,
  BatchNormalization: batchNormalization,
  InstanceNormalization: instanceNormalization,
  // dX = y·(dY − Σ dY·y)
  Softmax: (c) => {
    const { g } = c;
    const [y] = c.node.outputs;
    const dy = c.dy() as string;
    const dot = reduceSum(g, g.op('Mul', [dy, y]), [softmaxAxis(c)], 1);
    return [g.op('Mul', [y, g.op('Sub', [dy, dot])], {}, 'dsoftmax')];
  },
  // dX = dY − softmax(x)·Σ dY
  LogSoftmax: (c) => {
    const { g } = c;
    const dy = c.dy() as string;
    return [g.op('Sub', [dy, g.op('Mul', [g.op('Exp', [c.node.outputs[0]]), reduceSum(g, dy, [softmaxAxis(c)], 1)])], {}, 'dlogsoftmax')];
  },
};
