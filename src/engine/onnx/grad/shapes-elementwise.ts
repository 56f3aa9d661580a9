// Shape rules of elementwise ops: same shape as the input (activations, normalisations, Cast), or broadcast
// (arithmetic, comparisons, Where), with small values folded.
import { Elem, FLOATS, type ValueFacts, attr, broadcast, numbers } from './dims.js';
import { foldFloats, foldInts, roundHalfEven } from './fold.js';
import type { ShapeRule } from './shape-rule.js';

const SAME_SHAPE = new Set([
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Gelu',
  'HardSigmoid',
  'HardSwish',
  'Clip',
  'Softmax',
  'LogSoftmax',
  'Neg',
  'Sqrt',
  'Reciprocal',
  'Identity',
  'Dropout',
  'Abs',
  'Exp',
  'Log',
  'Sign',
  'Softplus',
  'Softsign',
  'Mish',
  'Elu',
  'Selu',
  'Floor',
  'Ceil',
  'Not',
  'CumSum',
  'LayerNormalization',
  'BatchNormalization',
  'InstanceNormalization',
  'LpNormalization',
  'Cast',
  'IsNaN',
  'Round',
]);
/** Comparisons and logic: broadcasting, boolean results, no gradient. */
const COMPARISONS = ['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or'];
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Max', 'Min', 'Sum', 'Mod', ...COMPARISONS]);
export const BOOLEAN = new Set([...COMPARISONS, 'Not', 'IsNaN']);

/** Shape arithmetic in floats (torch's ceil(h / patch)·patch): numbers cross to floats and back, truncated. */
const cast: ShapeRule = ({ node, x, dims }) => {
  const to = attr(node, 'to', Elem.FLOAT);
  if (FLOATS.has(to)) return [{ dims, type: to, ints: x?.ints, floats: numbers(x) }];
  return [{ dims, type: to, ints: x?.floats?.map(Math.trunc) ?? x?.ints }];
};

const sameShape: ShapeRule = ({ op, x, dims, type }) => {
  const out: ValueFacts = { dims, type: BOOLEAN.has(op) ? Elem.BOOL : type };
  if (op === 'Dropout') return [out, { dims, type: Elem.BOOL }];
  if (op === 'Identity') Object.assign(out, { ints: x?.ints, floats: x?.floats });
  const round = { Ceil: Math.ceil, Floor: Math.floor, Round: roundHalfEven }[op];
  if (round) out.floats = x?.floats?.map(round);
  return [out];
};

const broadcasting: ShapeRule = ({ op, inp, type }) => {
  const shapes = (op === 'Where' ? inp.slice(1) : inp).map((f) => f?.dims);
  const outType = BOOLEAN.has(op) ? Elem.BOOL : op === 'Where' ? (inp[1]?.type ?? Elem.FLOAT) : type;
  const out: ValueFacts = { dims: broadcast(op === 'Where' ? [inp[0]?.dims, ...shapes] : shapes), type: outType };
  if (FLOATS.has(outType)) out.floats = foldFloats(op, inp.map(numbers));
  else
    out.ints = foldInts(
      op,
      inp.map((f) => f?.ints),
    );
  return [out];
};

export const elementwiseShapes: Record<string, ShapeRule> = {
  ...Object.fromEntries([...SAME_SHAPE].map((op) => [op, sameShape])),
  ...Object.fromEntries([...BROADCAST].map((op) => [op, broadcasting])),
  Cast: cast,
};
