// Gradients of normalisations and softmax: LayerNormalization (statistics recomputed from X), BatchNormalization
// in inference mode (fixed statistics: an affine map per channel), Softmax and LogSoftmax (opset ≥ 13 semantics:
// one axis).
import { type GradRule, countOf, dimsOf, rankOf, reduceSum, scalar, unbroadcast, unsupported } from './context.js';
import { attr } from './shapes.js';

const layerNormalization: GradRule = (c) => {
  const { g, node } = c;
  const [x, scale, bias] = node.inputs;
  if (node.outputs.slice(1).some((_, i) => c.dy(i + 1))) throw unsupported(node, 'gradients through its Mean/InvStdDev outputs');
  const dy = c.dy() as string;
  const rank = rankOf(c, x);
  const axis = attr(node, 'axis', -1);
  const axes = Array.from({ length: rank - (axis < 0 ? axis + rank : axis) }, (_, i) => rank - 1 - i).reverse();
  const n = countOf(c, x, axes);
  const mean = (v: string) => g.op('Div', [reduceSum(g, v, axes, 1), n]);
  const centred = g.op('Sub', [x, mean(x)]);
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [mean(g.op('Mul', [centred, centred])), scalar(g, attr(node, 'epsilon', 1e-5), 'eps')])])]);
  const xhat = g.op('Mul', [centred, inv], {}, 'ln_xhat');
  const yDims = dimsOf(c, node.outputs[0]);
  let dx: string | undefined;
  if (c.wants(0)) {
    // dX = inv·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dx̂ = dY·scale.
    const dxhat = g.op('Mul', [dy, scale]);
    const inner = g.op('Sub', [g.op('Sub', [dxhat, mean(dxhat)]), g.op('Mul', [xhat, mean(g.op('Mul', [dxhat, xhat]))])]);
    dx = g.op('Mul', [inv, inner], {}, 'dln');
  }
  const dscale = c.wants(1) ? unbroadcast(c, g.op('Mul', [dy, xhat]), yDims, scale) : undefined;
  const db = bias && c.wants(2) ? unbroadcast(c, dy, yDims, bias) : undefined;
  return [dx, dscale, db];
};

const batchNormalization: GradRule = (c) => {
  const { g, node } = c;
  const [x, scale, , mean, variance] = node.inputs;
  if (attr(node, 'training_mode', 0) === 1)
    throw unsupported(node, 'training_mode=1 (batch statistics); fine-tuning keeps BatchNormalization in inference mode');
  const dy = c.dy() as string;
  const rank = rankOf(c, x);
  const perChannel = (v: string) => (rank === 2 ? v : g.op('Reshape', [v, g.ints('shape', [-1, ...new Array(rank - 2).fill(1)])]));
  const inv = perChannel(g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, scalar(g, attr(node, 'epsilon', 1e-5), 'eps')])])]));
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const dx = c.wants(0) ? g.op('Mul', [dy, g.op('Mul', [perChannel(scale), inv])], {}, 'dbn') : undefined;
  const xhat = c.wants(1) ? g.op('Mul', [g.op('Sub', [x, perChannel(mean)]), inv], {}, 'bn_xhat') : undefined;
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
