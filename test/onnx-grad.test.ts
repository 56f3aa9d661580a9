// Every ONNX op with a gradient rule, alone on small random inputs with attribute variants (broadcasting, groups,
// strides, padding, …): differentiate()'s gradients of every input, run in ONNX Runtime, against central finite
// differences of the forward graph (also run in ONNX Runtime). Plus a tiny transformer block composing many ops.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { GraphBuilder } from '../src/engine/onnx/graph.js';
import { type GradCase, type GradInput, type GradReport, TORCH_PY, gradCheck, inputMaker, torchOrSkip, rng } from './grad-check.js';
import { ROOT } from './helpers.js';

const mapValues = (r: Record<string, Float32Array>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));

let seed = 100;

const { input, distinct } = inputMaker(() => seed++);

type Build = GradCase['build'];
const CASES: Array<[string, GradCase]> = [];
const add = (name: string, inputs: GradInput[], build: Build, opset?: number) => CASES.push([name, { inputs, build, opset }]);

/** A binary op on inputs a and b. */
const binary =
  (op: string): Build =>
  (g, x) =>
    g.op(op, [x.a, x.b]);
const unary =
  (op: string, attributes = {}): Build =>
  (g, x) =>
    g.op(op, [x.a], attributes);

// Arithmetic with broadcasting.
for (const op of ['Add', 'Sub', 'Mul']) {
  add(`${op} [2,3,4] with [3,1]`, [input('a', [2, 3, 4]), input('b', [3, 1])], binary(op));
  add(`${op} [1,4] with [2,1]`, [input('a', [1, 4]), input('b', [2, 1])], binary(op));
}
add('Div [2,3,4] by [4]', [input('a', [2, 3, 4]), input('b', [4], { positive: true })], binary('Div'));
add('Div [3] by [2,3]', [input('a', [3]), input('b', [2, 3], { positive: true })], binary('Div'));
add('Pow [2,3] ** [3]', [input('a', [2, 3], { positive: true }), input('b', [3])], binary('Pow'));
add('Sqrt', [input('a', [2, 5], { positive: true })], unary('Sqrt'));
add('Neg', [input('a', [2, 5])], unary('Neg'));
add('Reciprocal', [input('a', [2, 5], { positive: true })], unary('Reciprocal'));

// Activations.
add('Relu', [input('a', [3, 5], { avoid: [0] })], unary('Relu'));
add('LeakyRelu alpha 0.1', [input('a', [3, 5], { avoid: [0] })], unary('LeakyRelu', { alpha: { float: 0.1 } }));
add('LeakyRelu default alpha', [input('a', [3, 5], { avoid: [0] })], unary('LeakyRelu'));
add('Sigmoid', [input('a', [3, 5])], unary('Sigmoid'));
add('Tanh', [input('a', [3, 5])], unary('Tanh'));
add('Softsign', [input('a', [3, 5], { scale: 2, avoid: [0] })], unary('Softsign'));
add('Erf', [input('a', [3, 5])], unary('Erf'));
add('Gelu (opset 20)', [input('a', [3, 5], { scale: 2 })], unary('Gelu'), 20);
add('Gelu tanh approximation (opset 20)', [input('a', [3, 5], { scale: 2 })], unary('Gelu', { approximate: 'tanh' }), 20);
add('HardSigmoid', [input('a', [3, 5], { scale: 3, avoid: [-2.5, 2.5] })], unary('HardSigmoid'));
add(
  'HardSigmoid alpha 0.5 beta 0.3',
  [input('a', [3, 5], { scale: 2, avoid: [-0.6, 1.4] })],
  unary('HardSigmoid', { alpha: { float: 0.5 }, beta: { float: 0.3 } }),
);
add('HardSwish', [input('a', [4, 5], { scale: 4, avoid: [-3, 3] })], unary('HardSwish'));
add('Clip min and max', [input('a', [3, 5], { avoid: [-0.5, 0.7] })], (g, x) =>
  g.op('Clip', [x.a, g.constant('min', [-0.5], []), g.constant('max', [0.7], [])]),
);
add('Clip min only', [input('a', [3, 5], { avoid: [-0.5] })], (g, x) => g.op('Clip', [x.a, g.constant('min', [-0.5], [])]));
add('Softmax last axis', [input('a', [2, 3, 4])], unary('Softmax'));
add('Softmax axis 1', [input('a', [2, 3, 4])], unary('Softmax', { axis: 1 }));
add('LogSoftmax', [input('a', [3, 5])], unary('LogSoftmax'));

// Reductions.
add('ReduceMean axes attribute keepdims', [input('a', [2, 3, 4])], unary('ReduceMean', { axes: [1] }));
add('ReduceMean axes attribute no keepdims', [input('a', [2, 3, 4])], unary('ReduceMean', { axes: [0, 2], keepdims: 0 }));
add('ReduceMean axes input (opset 18)', [input('a', [2, 3, 4])], (g, x) => g.op('ReduceMean', [x.a, g.ints('axes', [-1])], { keepdims: 0 }), 18);
add('ReduceMean over everything', [input('a', [2, 3])], unary('ReduceMean', { keepdims: 0 }));
add('ReduceSum axes input no keepdims', [input('a', [2, 3, 4])], (g, x) => g.op('ReduceSum', [x.a, g.ints('axes', [1, 2])], { keepdims: 0 }));
add('ReduceMax axes attribute no keepdims', [distinct('a', [2, 3, 4])], unary('ReduceMax', { axes: [1], keepdims: 0 }));
add('ReduceSum over everything', [input('a', [2, 3])], unary('ReduceSum'));

// Normalisations.
add('LayerNormalization last axis', [input('a', [2, 3, 4]), input('s', [4]), input('b', [4])], (g, x) =>
  g.op('LayerNormalization', [x.a, x.s, x.b], { epsilon: { float: 1e-3 } }),
);
add('LayerNormalization axis 1 without bias', [input('a', [2, 3, 4]), input('s', [3, 4])], (g, x) => g.op('LayerNormalization', [x.a, x.s], { axis: 1 }));
add('BatchNormalization (inference)', [input('a', [2, 3, 4, 4]), input('s', [3]), input('b', [3])], (g, x) =>
  g.op('BatchNormalization', [x.a, x.s, x.b, g.constant('mean', [0.1, -0.2, 0.3], [3]), g.constant('var', [0.5, 1.5, 0.8], [3])], {
    epsilon: { float: 1e-3 },
  }),
);
add('BatchNormalization on [N, C]', [input('a', [4, 3]), input('s', [3]), input('b', [3])], (g, x) =>
  g.op('BatchNormalization', [x.a, x.s, x.b, g.constant('mean', [0.1, -0.2, 0.3], [3]), g.constant('var', [0.5, 1.5, 0.8], [3])]),
);

// Pooling.
add('GlobalAveragePool', [input('a', [2, 3, 4, 5])], unary('GlobalAveragePool'));
add('AveragePool 2x2/2', [input('a', [1, 2, 4, 6])], unary('AveragePool', { kernel_shape: [2, 2], strides: [2, 2] }));
add('AveragePool 3x3/2 pads 1', [input('a', [1, 2, 7, 6])], unary('AveragePool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }));
add(
  'AveragePool 3x3/2 pads 1 count_include_pad',
  [input('a', [1, 2, 7, 6])],
  unary('AveragePool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }),
);
add('AveragePool 3x3/2 ceil_mode', [input('a', [1, 2, 6, 6])], unary('AveragePool', { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }));
add('AveragePool 3x3/1 SAME_UPPER', [input('a', [1, 2, 5, 4])], unary('AveragePool', { kernel_shape: [3, 3], auto_pad: 'SAME_UPPER' }));
add('MaxPool 2x2/2', [distinct('a', [2, 2, 4, 6])], unary('MaxPool', { kernel_shape: [2, 2], strides: [2, 2] }));
add('MaxPool 3x3/2 pads 1 (overlapping)', [distinct('a', [1, 2, 7, 7])], unary('MaxPool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }));
add('MaxPool 3x3/1 SAME_UPPER', [distinct('a', [1, 2, 5, 4])], unary('MaxPool', { kernel_shape: [3, 3], auto_pad: 'SAME_UPPER' }));
add(
  'MaxPool 2x2 dilation 2 ceil_mode',
  [distinct('a', [1, 2, 7, 7])],
  unary('MaxPool', { kernel_shape: [2, 2], strides: [2, 2], dilations: [2, 2], ceil_mode: 1 }),
);

// Convolutions.
const conv =
  (attributes: Record<string, number | number[] | string>, bias = true): Build =>
  (g, x) =>
    g.op('Conv', bias ? [x.a, x.w, x.b] : [x.a, x.w], attributes);
const convCase = (name: string, xDims: number[], wDims: number[], attributes: Record<string, number | number[] | string>, bias = true) =>
  add(name, [input('a', xDims), input('w', wDims), ...(bias ? [input('b', [wDims[0]])] : [])], conv(attributes, bias));
convCase('Conv 3x3 pads 1', [2, 3, 5, 5], [4, 3, 3, 3], { pads: [1, 1, 1, 1] });
convCase('Conv 3x3 stride 2 pads 1', [2, 3, 6, 5], [4, 3, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] });
convCase('Conv 3x3 stride 2 no pads (uncovered rows)', [1, 2, 6, 6], [3, 2, 3, 3], { strides: [2, 2] }, false);
convCase('Conv 3x3 dilation 2 asymmetric pads', [1, 2, 7, 6], [3, 2, 3, 3], { dilations: [2, 2], pads: [2, 1, 0, 2] });
convCase('Conv 2 groups', [2, 4, 5, 5], [6, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1] });
convCase('Conv depthwise (groups = channels, multiplier 2) stride 2', [2, 3, 6, 6], [6, 1, 3, 3], { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] });
convCase('Conv auto_pad SAME_UPPER stride 2', [1, 2, 5, 6], [3, 2, 3, 3], { auto_pad: 'SAME_UPPER', strides: [2, 2] });
convCase('Conv auto_pad SAME_LOWER 4x4', [1, 2, 5, 5], [2, 2, 4, 4], { auto_pad: 'SAME_LOWER' });
convCase('Conv depthwise multiplier 2, stride 1, dilation 2', [2, 3, 7, 6], [6, 1, 3, 3], { group: 3, dilations: [2, 2], pads: [2, 2, 2, 2] });
convCase('Conv 1x1 stride 1 (the MatMul weight gradient)', [2, 3, 4, 5], [4, 3, 1, 1], {});
convCase('Conv 3-D 2x2x2', [1, 2, 4, 3, 4], [3, 2, 2, 2, 2], { pads: [1, 0, 1, 0, 1, 0] });
convCase('Conv 1x1 stride 2', [2, 3, 5, 5], [4, 3, 1, 1], { strides: [2, 2] });
convCase('Conv 1-D stride 2', [2, 3, 9], [4, 3, 3], { strides: [2], pads: [1, 1] });
convCase('Conv 2x2 stride 2 (patchify: both gradients as Gemms)', [2, 3, 4, 6], [4, 3, 2, 2], { strides: [2, 2] });
convCase('Conv patchify 3-D, kernel = stride 2x3x1', [1, 2, 4, 6, 3], [3, 2, 2, 3, 1], { strides: [2, 3, 1] });
convCase('Conv patchify 1-D 3/3', [2, 3, 9], [4, 3, 3], { strides: [3] });
convCase('Conv 2x2 stride 2 not tiling its input (a row left over)', [1, 2, 5, 4], [3, 2, 2, 2], { strides: [2, 2] });
convCase('Conv 7x7 stride 2 pads 3 (a stem)', [1, 3, 9, 9], [2, 3, 7, 7], { strides: [2, 2], pads: [3, 3, 3, 3] });

// Matrix products.
add('MatMul [2,3,4] x [4,5] (x·W)', [input('a', [2, 3, 4]), input('b', [4, 5])], binary('MatMul'));
add('MatMul [3,4] x [4,5]', [input('a', [3, 4]), input('b', [4, 5])], binary('MatMul'));
add('MatMul batched broadcast [2,1,3,4] x [3,4,2]', [input('a', [2, 1, 3, 4]), input('b', [3, 4, 2])], binary('MatMul'));
add('MatMul [2,3,4] x [2,4,5]', [input('a', [2, 3, 4]), input('b', [2, 4, 5])], binary('MatMul'));
add('MatMul 1-D [4] x [2,4,3]', [input('a', [4]), input('b', [2, 4, 3])], binary('MatMul'));
add('MatMul [2,3,4] x 1-D [4]', [input('a', [2, 3, 4]), input('b', [4])], binary('MatMul'));
add('MatMul 1-D dot', [input('a', [4]), input('b', [4])], binary('MatMul'));
for (const [ta, tb] of [
  [0, 0],
  [1, 0],
  [0, 1],
  [1, 1],
]) {
  add(
    `Gemm transA ${ta} transB ${tb} alpha 0.7 beta 1.3, C [5]`,
    [input('a', ta ? [4, 3] : [3, 4]), input('b', tb ? [5, 4] : [4, 5]), input('c', [5])],
    (g, x) => g.op('Gemm', [x.a, x.b, x.c], { transA: ta, transB: tb, alpha: { float: 0.7 }, beta: { float: 1.3 } }),
  );
}
add('Gemm C [3,1]', [input('a', [3, 4]), input('b', [4, 5]), input('c', [3, 1])], (g, x) => g.op('Gemm', [x.a, x.b, x.c]));
add('Gemm without C', [input('a', [3, 4]), input('b', [4, 5])], (g, x) => g.op('Gemm', [x.a, x.b]));

// Moving values around.
add('Pad constant (pads input)', [input('a', [2, 3, 4])], (g, x) => g.op('Pad', [x.a, g.ints('pads', [0, 1, 2, 0, 2, 0])], { mode: 'constant' }));
add('Pad with negative pads (a crop)', [input('a', [2, 5, 4])], (g, x) => g.op('Pad', [x.a, g.ints('pads', [0, -1, 1, 0, -2, 0])], { mode: 'constant' }));
add('Pad with axes input (opset 18)', [input('a', [2, 3, 4])], (g, x) => g.op('Pad', [x.a, g.ints('pads', [1, 2, 0, 1]), '', g.ints('axes', [1, -1])]), 18);
add('Transpose perm [2,0,1]', [input('a', [2, 3, 4])], unary('Transpose', { perm: [2, 0, 1] }));
add('Transpose default (reverse)', [input('a', [2, 3, 4])], unary('Transpose'));
add('Reshape to [-1, 4]', [input('a', [2, 3, 4])], (g, x) => g.op('Reshape', [x.a, g.ints('shape', [-1, 4])]));
add('Reshape with 0 (copy)', [input('a', [2, 3, 4])], (g, x) => g.op('Reshape', [x.a, g.ints('shape', [0, 4, 3])]));
add('Flatten axis 2', [input('a', [2, 3, 4, 2])], unary('Flatten', { axis: 2 }));
add('Squeeze axes input', [input('a', [2, 1, 4])], (g, x) => g.op('Squeeze', [x.a, g.ints('axes', [1])]));
add('Unsqueeze axes input', [input('a', [2, 4])], (g, x) => g.op('Unsqueeze', [x.a, g.ints('axes', [0, 2])]));
add('Concat axis 1 of three', [input('a', [2, 1, 3]), input('b', [2, 2, 3]), input('c', [2, 3, 3])], (g, x) => g.op('Concat', [x.a, x.b, x.c], { axis: 1 }));
add('Concat axis -1 with itself', [input('a', [2, 3])], (g, x) => g.op('Concat', [x.a, x.a], { axis: -1 }));
add('Split sizes input [1,3], both used', [input('a', [2, 4, 3])], (g, x) => {
  const [p, q] = g.ops('Split', [x.a, g.ints('split', [1, 3])], 2, { axis: 1 });
  return g.op('Mul', [g.op('Concat', [q, p], { axis: 1 }), g.constant('k', [1, 2, 3, 4], [1, 4, 1])]);
});
add('Split equal, one output unused', [input('a', [2, 6])], (g, x) => g.ops('Split', [x.a], 3, { axis: -1 })[1]);
add('Slice step 1 with negative start', [input('a', [3, 6])], (g, x) =>
  g.op('Slice', [x.a, g.ints('starts', [1, -4]), g.ints('ends', [3, 5]), g.ints('axes', [0, 1])]),
);
add('Slice step 2', [input('a', [3, 7])], (g, x) =>
  g.op('Slice', [x.a, g.ints('starts', [1]), g.ints('ends', [7]), g.ints('axes', [1]), g.ints('steps', [2])]),
);
add('Slice reversed (step -1) on two axes', [input('a', [3, 5])], (g, x) =>
  g.op('Slice', [x.a, g.ints('starts', [-1, 3]), g.ints('ends', [-100, 0]), g.ints('axes', [0, 1]), g.ints('steps', [-1, -2])]),
);
add('Gather axis 0 with repeated indices', [input('a', [3, 4])], (g, x) => g.op('Gather', [x.a, g.ints('idx', [0, 2, 0, 1])], { axis: 0 }));
add('Gather axis 1, 2-D indices with a negative one', [input('a', [2, 4, 3])], (g, x) => {
  const idx = g.op('Reshape', [g.ints('idx', [3, -1, 0, 3]), g.ints('shape', [2, 2])]);
  return g.op('Gather', [x.a, idx], { axis: 1 });
});
add('Gather scalar index (a CLS token)', [input('a', [2, 5, 3])], (g, x) => g.op('Gather', [x.a, g.op('Squeeze', [g.ints('idx', [0])])], { axis: 1 }));
add('Gather scalar index 1 on axis 0 (one of q/k/v)', [input('a', [3, 2, 4])], (g, x) =>
  g.op('Gather', [x.a, g.op('Squeeze', [g.ints('idx', [1])])], { axis: 0 }),
);
add('Gather scalar index -2 on the last axis', [input('a', [2, 3, 5])], (g, x) => g.op('Gather', [x.a, g.op('Squeeze', [g.ints('idx', [-2])])], { axis: 2 }));
add('Expand [3,1] to [2,3,4]', [input('a', [3, 1])], (g, x) => g.op('Expand', [x.a, g.ints('shape', [2, 3, 4])]));
add('Where with broadcasting', [input('a', [2, 3]), input('b', [3])], (g, x) => {
  const cond = g.op('Greater', [g.constant('c', [1, -1, 1, -1, -1, 1], [2, 3]), g.constant('zero', [0], [])]);
  return g.op('Where', [cond, x.a, x.b]);
});
add('Cast to double and back', [input('a', [2, 3])], (g, x) => {
  const d = g.op('Cast', [x.a], { to: 11 });
  return g.op('Cast', [g.op('Mul', [d, d])], { to: 1 });
});
add('Shape, Constant and ConstantOfShape (no gradient through them)', [input('a', [2, 3])], (g, x) => {
  const zeros = g.op('ConstantOfShape', [g.op('Shape', [x.a])]);
  const k = g.op('Constant', [], { value_floats: { floats: [0.5, -1, 2] } });
  const shaped = g.op('Reshape', [g.op('Mul', [x.a, k]), g.op('Shape', [x.a])]);
  return g.op('Add', [shaped, g.op('Cast', [zeros], { to: 1 })]);
});
add('Identity', [input('a', [2, 3])], unary('Identity'));
add('Dropout (inference: identity)', [input('a', [2, 3])], (g, x) => g.op('Dropout', [x.a, g.constant('ratio', [0.3], [])]));

const lossRng = rng(7);
const LOSS_WEIGHTS = Float32Array.from({ length: 2 * 4 * 8 }, () => lossRng.normal());

/** A pre-norm transformer block on [2 tokens-batches, 4 tokens, 8 features]: LN → attention → residual → LN → GELU MLP → residual. */
function transformerBlock(g: GraphBuilder, x: Record<string, string>): string {
  const mm = (a: string, b: string) => g.op('MatMul', [a, b]);
  const h = g.op('LayerNormalization', [x.x, x.ln1s, x.ln1b]);
  const q = mm(h, x.wq);
  const k = mm(h, x.wk);
  const v = mm(h, x.wv);
  const scores = g.op('Mul', [mm(q, g.op('Transpose', [k], { perm: [0, 2, 1] })), g.constant('scale', [1 / Math.sqrt(8)], [])]);
  const attn = mm(g.op('Softmax', [scores], { axis: -1 }), v);
  const r1 = g.op('Add', [x.x, mm(attn, x.wo)]);
  const h2 = g.op('LayerNormalization', [r1, x.ln2s, x.ln2b]);
  const mlp = g.op('Add', [mm(g.op('Gelu', [g.op('Add', [mm(h2, x.w1), x.b1])]), x.w2), x.b2]);
  const out = g.op('Add', [r1, mlp]);
  const weights = g.constant('loss_weights', LOSS_WEIGHTS, [2, 4, 8]);
  return g.op('ReduceSum', [g.op('Mul', [out, weights])], { keepdims: 0 });
}

describe('each ONNX op gradient rule matches finite differences', () => {
  for (const [name, c] of CASES) {
    test(name, async () => {
      const report = await gradCheck(c, seed++);
      assert.ok(report.checked > 0);
      if (process.env.GRAD_REPORT) process.stderr.write(`${name}: ${report.worst.toExponential(2)}\n`);
      assert.ok(report.worst < 1e-3, `worst relative error ${report.worst.toExponential(2)} at ${report.where}`);
    });
  }
});

describe('differentiate over composed graphs', () => {
  let transformer: GradReport | undefined;
  test('a tiny transformer block (LayerNorm, attention, GELU MLP, residuals): every weight and the input', async () => {
    const w = (name: string, dims: number[], scale = 0.4) => input(name, dims, { scale });
    const report = await gradCheck(
      {
        opset: 20,
        scalarLoss: true,
        h: 3e-2,
        inputs: [
          input('x', [2, 4, 8]),
          w('ln1s', [8], 1),
          w('ln1b', [8]),
          w('wq', [8, 8]),
          w('wk', [8, 8]),
          w('wv', [8, 8]),
          w('wo', [8, 8]),
          w('ln2s', [8], 1),
          w('ln2b', [8]),
          w('w1', [8, 16]),
          w('b1', [16]),
          w('w2', [16, 8]),
          w('b2', [8]),
        ],
        build: transformerBlock,
      },
      seed++,
    );
    assert.ok(report.worst < 1e-3, `worst relative error ${report.worst.toExponential(2)} at ${report.where}`);
    transformer = report;
  });

  test('the same block against PyTorch autograd in float64 (optional: needs /usr/bin/python3 with torch)', (t) => {
    if (!torchOrSkip(t)) return;
    const report = transformer as GradReport;
    const payload = { values: mapValues(report.values), lossWeights: Array.from(LOSS_WEIGHTS) };
    const run = spawnSync(TORCH_PY, [path.join(ROOT, 'test', 'torch-transformer-grad.py')], { input: JSON.stringify(payload), encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const torch = JSON.parse(run.stdout) as Record<string, number[]>;
    for (const [name, ours] of Object.entries(report.gradients)) {
      const theirs = torch[name];
      const scale = Math.max(...theirs.map(Math.abs));
      ours.forEach((v, k) => assert.ok(Math.abs(v - theirs[k]) <= 1e-4 * scale + 1e-6, `${name}[${k}]: ours ${v}, PyTorch ${theirs[k]}`));
    }
  });

  test('only nodes between a wanted value and the loss get backward nodes', async () => {
    // out = a·w + (frozen constant path); the b branch never reaches the output.
    const report = await gradCheck({
      inputs: [input('a', [2, 3]), input('w', [3])],
      build: (g, x) => {
        g.op('Tanh', [g.op('Sigmoid', [x.a])]);
        const frozen = g.op('Tanh', [g.op('Sigmoid', [g.constant('k', [1, 2, 3], [3])])]);
        return g.op('Add', [g.op('Mul', [x.a, x.w]), frozen]);
      },
    });
    assert.ok(report.worst < 1e-3, report.where);
    // Mul's two gradients with one unbroadcast (ReduceSum + Reshape) for w, Add's pass-through: no Sigmoid/Tanh backward.
    assert.ok(report.backwardNodes <= 6, `${report.backwardNodes} backward nodes`);
  });
});

describe('fused gradients', () => {
  test('a fused backward replaces the rules of the nodes it covers (here a deliberately different one: 3·dY)', async () => {
    const { GraphBuilder } = await import('../src/engine/onnx/graph.js');
    const { differentiate } = await import('../src/engine/onnx/grad/index.js');
    const { loadOrt } = await import('../src/engine/ort-runtime.js');
    const g = new GraphBuilder('fused');
    const x = g.input('x', [2, 3]);
    const hidden = g.op('Mul', [g.op('Relu', [x]), g.constant('two', [2], [])]);
    const forward = g.graph();
    const b = new GraphBuilder('fused_back');
    b.adopt(forward);
    const seed = b.input('seed', [2, 3]);
    const fused = new Map([[hidden, { inputs: [x], backward: (dy: string) => [b.op('Mul', [dy, b.constant('three', [3], [])])] }]]);
    const grads = differentiate(b, forward, { loss: { value: hidden, seed }, wrt: [x], fused });
    const dx = grads.get(x) as string;
    b.output(dx, [2, 3]);
    assert.ok(!b.graph().nodes.some((n) => n.opType === 'Where'), 'the Relu rule was not used');
    const ort = await loadOrt();
    const session = await ort.InferenceSession.create(b.encode());
    const out = await session.run({
      x: new ort.Tensor('float32', new Float32Array(6).fill(-1), [2, 3]),
      seed: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]),
    });
    assert.deepEqual(Array.from(out[dx].data as Float32Array), [3, 6, 9, 12, 15, 18]);
  });
});
