// Gradients of elementwise ops: arithmetic with broadcasting, exp/log, activations (written in terms of the output
// where that is cheaper), Max/Min, Where, Expand, and the ops that pass gradients through unchanged.
import { type GradContext, type GradRule, constInts, dimsOf, scalar, toInput, unbroadcast, unsupported } from './context.js';
import { attr } from './dims.js';
import { geluCdf, geluSlope } from './gelu.js';

/** dX = dY · f'(x) for a unary op, with f'(x) built by `derivative`. */
const unary =
  (derivative: (c: GradContext, x: string, y: string) => string, hint: string): GradRule =>
  (c) => {
    const dy = c.dy() as string;
    const { g, node } = c;
    return [g.op('Mul', [dy, derivative(c, node.inputs[0], node.outputs[0])], {}, hint)];
  };

/** dX = Where(mask, dY, 0) for ops whose derivative is 0 or 1. */
const gated =
  (mask: (c: GradContext, x: string) => string, hint: string): GradRule =>
  (c) => [c.g.op('Where', [mask(c, c.node.inputs[0]), c.dy() as string, scalar(c.g, 0, 'zero')], {}, hint)];

const sub1 = (c: GradContext, v: string) => c.g.op('Sub', [scalar(c.g, 1, 'one'), v]);

export const elementwiseRules: Record<string, GradRule> = {
  Add: (c) => [c.wants(0) ? toInput(c, c.dy() as string, 0) : undefined, c.wants(1) ? toInput(c, c.dy() as string, 1) : undefined],
  Sub: (c) => [c.wants(0) ? toInput(c, c.dy() as string, 0) : undefined, c.wants(1) ? toInput(c, c.g.op('Neg', [c.dy() as string]), 1) : undefined],
  Mul: (c) => {
    const [a, b] = c.node.inputs;
    const dy = c.dy() as string;
    return [
      c.wants(0) ? toInput(c, c.g.op('Mul', [dy, b], {}, 'dmul'), 0) : undefined,
      c.wants(1) ? toInput(c, c.g.op('Mul', [dy, a], {}, 'dmul'), 1) : undefined,
    ];
  },
  Div: (c) => {
    const { g } = c;
    const [, b] = c.node.inputs;
    const dy = c.dy() as string;
    const da = c.wants(0) || c.wants(1) ? g.op('Div', [dy, b], {}, 'ddiv') : undefined;
    // d(a/b)/db = −(a/b)/b: dB = −dA·y.
    return [
      c.wants(0) ? toInput(c, da as string, 0) : undefined,
      c.wants(1) ? toInput(c, g.op('Neg', [g.op('Mul', [da as string, c.node.outputs[0]])], {}, 'ddiv'), 1) : undefined,
    ];
  },
  Pow: (c) => {
    const { g } = c;
    const [a, b] = c.node.inputs;
    const [y] = c.node.outputs;
    const dy = c.dy() as string;
    // dA = dY·b·a^(b−1); dB = dY·y·ln(a) (defined for a > 0).
    const da = c.wants(0)
      ? g.op('Mul', [dy, g.op('Mul', [b, g.op('Pow', [a, g.op('Sub', [b, g.op('CastLike', [scalar(g, 1, 'one'), b])])])])], {}, 'dpow')
      : undefined;
    const db = c.wants(1) ? g.op('Mul', [dy, g.op('Mul', [y, g.op('Log', [a])])], {}, 'dpow') : undefined;
    return [da && toInput(c, da, 0), db && toInput(c, db, 1)];
  },
  Sqrt: unary((c, _x, y) => c.g.op('Div', [scalar(c.g, 0.5, 'half'), y]), 'dsqrt'),
  Neg: (c) => [c.g.op('Neg', [c.dy() as string], {}, 'dneg')],
  Exp: unary((_c, _x, y) => y, 'dexp'),
  Log: (c) => [c.g.op('Div', [c.dy() as string, c.node.inputs[0]], {}, 'dlog')],
  // PyTorch's rule: sign(x), 0 at 0.
  Abs: unary((c, x) => c.g.op('Sign', [x]), 'dabs'),
  Max: extremum('Greater'),
  Min: extremum('Less'),
  // d(1/x) = −y².
  Reciprocal: unary((c, _x, y) => c.g.op('Neg', [c.g.op('Mul', [y, y])]), 'dreciprocal'),
  Relu: gated((c, x) => c.g.op('Greater', [x, scalar(c.g, 0, 'zero')]), 'drelu'),
  LeakyRelu: (c) => {
    const { g } = c;
    const dy = c.dy() as string;
    const alpha = attr(c.node, 'alpha', 0.01);
    return [g.op('Where', [g.op('Greater', [c.node.inputs[0], scalar(g, 0, 'zero')]), dy, g.op('Mul', [dy, scalar(g, alpha, 'alpha')])], {}, 'dleaky_relu')];
  },
  Sigmoid: unary((c, _x, y) => c.g.op('Mul', [y, sub1(c, y)]), 'dsigmoid'),
  Softplus: unary((c, x) => c.g.op('Sigmoid', [x]), 'dsoftplus'),
  // y = x·tanh(softplus(x)): y' = tanh(sp) + x·σ(x)·(1 − tanh²(sp)).
  Mish: unary((c, x) => {
    const { g } = c;
    const t = g.op('Tanh', [g.op('Softplus', [x])]);
    return g.op('Add', [t, g.op('Mul', [g.op('Mul', [x, g.op('Sigmoid', [x])]), sub1(c, g.op('Mul', [t, t]))])]);
  }, 'dmish'),
  // Below 0: y = α(eˣ − 1), y' = y + α (× γ for Selu).
  Elu: unary(
    (c, x, y) =>
      c.g.op('Where', [c.g.op('Greater', [x, scalar(c.g, 0, 'zero')]), scalar(c.g, 1, 'one'), c.g.op('Add', [y, scalar(c.g, attr(c.node, 'alpha', 1))])]),
    'delu',
  ),
  Selu: unary((c, x) => {
    const { g } = c;
    const gamma = attr(c.node, 'gamma', 1.0507009873554805);
    const below = g.op('Mul', [g.op('Exp', [x]), scalar(g, gamma * attr(c.node, 'alpha', 1.6732632423543772))]);
    return g.op('Where', [g.op('Greater', [x, scalar(g, 0, 'zero')]), scalar(g, gamma), below]);
  }, 'dselu'),
  Tanh: unary((c, _x, y) => sub1(c, c.g.op('Mul', [y, y])), 'dtanh'),
  // y = x/(1 + |x|): y' = 1/(1 + |x|)².
  Softsign: unary((c, x) => {
    const d = c.g.op('Add', [scalar(c.g, 1, 'one'), c.g.op('Abs', [x])]);
    return c.g.op('Reciprocal', [c.g.op('Mul', [d, d])]);
  }, 'dsoftsign'),
  // d erf(x) = 2/√π·exp(−x²) = exp(ln(2/√π) − x²): the constant and the sign in one Sub (exported GELUs' Erf).
  Erf: unary((c, x) => c.g.op('Exp', [c.g.op('Sub', [scalar(c.g, Math.log(2 / Math.sqrt(Math.PI))), c.g.op('Mul', [x, x])])]), 'derf'),
  Gelu: unary(geluDerivative, 'dgelu'),
  HardSigmoid: (c) => {
    const { g } = c;
    const alpha = attr(c.node, 'alpha', 0.2);
    const z = g.op('Add', [g.op('Mul', [c.node.inputs[0], scalar(g, alpha)]), scalar(g, attr(c.node, 'beta', 0.5))]);
    const inside = g.op('And', [g.op('Greater', [z, scalar(g, 0, 'zero')]), g.op('Less', [z, scalar(g, 1, 'one')])]);
    return [g.op('Where', [inside, g.op('Mul', [c.dy() as string, scalar(g, alpha)]), scalar(g, 0, 'zero')], {}, 'dhard_sigmoid')];
  },
  // y = x·clip(x/6 + 1/2, 0, 1): 0 below −3, 1 above 3, x/3 + 1/2 between.
  HardSwish: unary((c, x) => {
    const { g } = c;
    const middle = g.op('Add', [g.op('Mul', [x, scalar(g, 1 / 3)]), scalar(g, 0.5, 'half')]);
    return g.op('Where', [
      g.op('Less', [x, scalar(g, -3)]),
      scalar(g, 0, 'zero'),
      g.op('Where', [g.op('Greater', [x, scalar(g, 3)]), scalar(g, 1, 'one'), middle]),
    ]);
  }, 'dhard_swish'),
  // PyTorch's rule: the gradient passes where min ≤ x ≤ max.
  Clip: (c) => {
    const { g, node } = c;
    const [x, min, max] = node.inputs;
    const lo = min || (attr<number | undefined>(node, 'min', undefined) !== undefined ? scalar(g, attr(node, 'min', 0)) : undefined);
    const hi = max || (attr<number | undefined>(node, 'max', undefined) !== undefined ? scalar(g, attr(node, 'max', 0)) : undefined);
    const conds = [lo && g.op('GreaterOrEqual', [x, lo]), hi && g.op('LessOrEqual', [x, hi])].filter((v): v is string => !!v);
    if (conds.length === 0) return [c.dy()];
    const inside = conds.length === 2 ? g.op('And', conds) : conds[0];
    return [g.op('Where', [inside, c.dy() as string, scalar(g, 0, 'zero')], {}, 'dclip')];
  },
  Where: (c) => {
    const { g, node } = c;
    const dy = c.dy() as string;
    const zero = scalar(g, 0, 'zero');
    const out = dimsOf(c, node.outputs[0]);
    return [
      undefined,
      c.wants(1) ? unbroadcast(c, g.op('Where', [node.inputs[0], dy, zero], {}, 'dwhere'), out, node.inputs[1]) : undefined,
      c.wants(2) ? unbroadcast(c, g.op('Where', [node.inputs[0], zero, dy], {}, 'dwhere'), out, node.inputs[2]) : undefined,
    ];
  },
  Expand: (c) => [toInput(c, c.dy() as string, 0)],
  Identity: (c) => [c.dy()],
  // Inference mode (training_mode absent or false): the identity.
  Dropout: (c) => {
    if (c.node.inputs[2] && constInts(c, 2)?.[0]) throw unsupported(c.node, 'training_mode dropout (feed masks instead)');
    return [c.dy()];
  },
  Cast: (c) => [c.g.op('Cast', [c.dy() as string], { to: c.facts(c.node.inputs[0])?.type ?? 1 }, 'dcast')],
};

/**
 * Max/Min of two inputs: the gradient goes to the input that won; at ties it is split in half (PyTorch's
 * maximum/minimum rule, so a clamp written as Max(x, c) matches it).
 */
function extremum(wins: 'Greater' | 'Less'): GradRule {
  return (c) => {
    const { g, node } = c;
    if (node.inputs.length !== 2) throw unsupported(node, `${node.inputs.length} inputs (two only)`);
    const [a, b] = node.inputs;
    const dy = c.dy() as string;
    const half = g.op('Mul', [dy, scalar(g, 0.5, 'half')]);
    const zero = scalar(g, 0, 'zero');
    const tie = g.op('Equal', [a, b]);
    const share = (first: string, second: string) => g.op('Where', [g.op(wins, [first, second]), dy, g.op('Where', [tie, half, zero])], {}, 'dextremum');
    return [c.wants(0) ? toInput(c, share(a, b), 0) : undefined, c.wants(1) ? toInput(c, share(b, a), 1) : undefined];
  };
}

/** GELU's derivative, exact (Φ(x) + x·φ(x)) or of the tanh approximation. */
function geluDerivative(c: GradContext, x: string): string {
  const { g } = c;
  if (attr(c.node, 'approximate', 'none') === 'tanh') {
    const one = scalar(g, 1, 'one');
    const half = scalar(g, 0.5, 'half');
    // y = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³); y' = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
    const k = Math.sqrt(2 / Math.PI);
    const x2 = g.op('Mul', [x, x]);
    const u = g.op('Mul', [scalar(g, k), g.op('Add', [x, g.op('Mul', [scalar(g, 0.044715), g.op('Mul', [x2, x])])])]);
    const t = g.op('Tanh', [u]);
    const du = g.op('Mul', [scalar(g, k), g.op('Add', [one, g.op('Mul', [scalar(g, 3 * 0.044715), x2])])]);
    const left = g.op('Mul', [half, g.op('Add', [one, t])]);
    const right = g.op('Mul', [g.op('Mul', [half, x]), g.op('Mul', [g.op('Sub', [one, g.op('Mul', [t, t])]), du])]);
    return g.op('Add', [left, right]);
  }
  const { u, cdf } = geluCdf(g, x);
  return geluSlope(g, x, u, cdf);
}
