// Training steps compiled from plain ONNX forward graphs: one SGD step's update equals the learning rate times
// the finite-difference gradient of the step's own loss output.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type * as OrtTypes from 'onnxruntime-node';
import { compileGraphTrainStep, type GraphStepOptions, type GraphTrainStep } from '../src/engine/onnx/grad/graph-step.js';
import { suffixGraph } from '../src/engine/onnx/cut.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { GraphBuilder } from '../src/engine/onnx/graph.js';
import { inferShapes } from '../src/engine/onnx/grad/shapes.js';
import { DataType, type GraphValue, type TensorValue } from '../src/engine/onnx/proto.js';
import { loadOrt } from '../src/engine/ort-runtime.js';
import { rng } from './grad-check.js';

const r = rng(3);
const randn = (n: number, scale = 0.5) => Float32Array.from({ length: n }, () => r.normal() * scale);

/** x [N,3] → Gemm → Tanh → MatMul → Add → Softmax. */
function denseGraph(): GraphValue {
  const g = new GraphBuilder('dense_net');
  const x = g.input('x', ['N', 3]);
  const w1 = g.constant('w1', randn(12), [3, 4]);
  const b1 = g.constant('b1', randn(4), [4]);
  const w2 = g.constant('w2', randn(12), [4, 3]);
  const b2 = g.constant('b2', randn(3), [3]);
  const h = g.op('Tanh', [g.op('Gemm', [x, w1, b1])]);
  g.op('Softmax', [g.op('Add', [g.op('MatMul', [h, w2]), b2])], { axis: -1 }, 'probs');
  return g.graph();
}

/** x [N,2,5,5] → Conv 3x3 stride 2 → Tanh → GlobalAveragePool → Flatten: a regression output [N,3]. */
function convGraph(): GraphValue {
  const g = new GraphBuilder('conv_net');
  const x = g.input('x', ['N', 2, 5, 5]);
  const w = g.constant('w', randn(54), [3, 2, 3, 3]);
  const b = g.constant('b', randn(3), [3]);
  const conv = g.op('Conv', [x, w, b], { strides: [2, 2], pads: [1, 1, 1, 1] });
  g.op('Flatten', [g.op('GlobalAveragePool', [g.op('Tanh', [conv])])], {}, 'out');
  return g.graph();
}

const outputOf = (graph: GraphValue) => graph.nodes[graph.nodes.length - 1].outputs[0];

async function run(
  session: OrtTypes.InferenceSession,
  ort: Awaited<ReturnType<typeof loadOrt>>,
  step: GraphTrainStep,
  weights: Float32Array[],
  batch: { x: Float32Array; y: Float32Array; n: number; w?: Float32Array },
  lr: number,
) {
  const feeds: Record<string, OrtTypes.Tensor> = {
    [step.x]: new ort.Tensor('float32', batch.x, [batch.n, ...step.inputShape]),
    [step.y]: new ort.Tensor('float32', batch.y, [batch.n, ...step.outputShape]),
    [step.lr]: new ort.Tensor('float32', Float32Array.of(lr), []),
  };
  if (step.sampleWeight) feeds[step.sampleWeight] = new ort.Tensor('float32', batch.w as Float32Array, [batch.n]);
  step.params.forEach((p, i) => {
    feeds[p.input] = new ort.Tensor('float32', weights[i], p.shape);
    for (const s of p.slots) feeds[s.input] = new ort.Tensor('float32', new Float32Array(weights[i].length), p.shape);
  });
  return session.run(feeds);
}

/**
 * One step at rate `lr`: (w − w')/lr against the finite-difference gradient (step h) of the loss output. Deeper
 * graphs need a larger h: the float32 loss's rounding, divided by h, swamps a small one.
 */
async function checkStep(
  graph: GraphValue,
  options: Omit<GraphStepOptions, 'input' | 'output'>,
  batch: { x: Float32Array; y: Float32Array; n: number; w?: Float32Array },
  h = 1e-2,
) {
  const ort = await loadOrt();
  const step = compileGraphTrainStep(graph, { ...options, input: 'x', output: outputOf(graph) });
  assert.deepEqual(
    step.params.map((p) => p.name),
    options.trainable,
  );
  const session = await ort.InferenceSession.create(step.onnx, { intraOpNumThreads: 1 });
  const lr = 0.5;
  const weights = step.params.map((p) => p.initial);
  const out = await run(session, ort, step, weights, batch, lr);
  const loss = async (ws: Float32Array[]) => (await run(session, ort, step, ws, batch, 0))[step.loss].data[0] as number;
  let worst = 0;
  for (const [i, p] of step.params.entries()) {
    const updated = out[p.output].data as Float32Array;
    for (let k = 0; k < updated.length; k++) {
      const central = async (h: number) => {
        const ws = weights.map((w) => w.slice());
        ws[i][k] = weights[i][k] + h;
        const up = ws[i][k];
        const plus = await loss(ws);
        ws[i][k] = weights[i][k] - h;
        return (plus - (await loss(ws))) / (up - ws[i][k]);
      };
      const fd = (4 * (await central(h)) - (await central(2 * h))) / 3;
      const step = (weights[i][k] - updated[k]) / lr;
      worst = Math.max(worst, Math.abs(step - fd) / (Math.abs(fd) + 1e-2));
    }
  }
  await session.release();
  return worst;
}

describe('a training step compiled from a plain ONNX graph', () => {
  test('SGD on a dense softmax classifier (categorical cross-entropy fused with the Softmax node)', async () => {
    const n = 5;
    const y = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) y[i * 3 + (i % 3)] = 1;
    const worst = await checkStep(
      denseGraph(),
      { trainable: ['w1', 'b1', 'w2', 'b2'], loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } },
      { x: randn(n * 3, 1), y, n },
    );
    assert.ok(worst < 1e-3, `worst relative error ${worst}`);
  });

  test("SGD with momentum on the dense classifier: both weights' updates folded into their gradient Gemms", async () => {
    const n = 5;
    const y = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) y[i * 3 + (i % 3)] = 1;
    const options = { trainable: ['w1', 'b1', 'w2', 'b2'], loss: 'categorical_crossentropy' as const, optimizer: { name: 'sgd' as const, momentum: 0.9 } };
    const { nodes } = decodeModel(compileGraphTrainStep(denseGraph(), { ...options, input: 'x', output: outputOf(denseGraph()) }).onnx).graph;
    const folded = nodes.filter((n) => n.opType === 'Gemm' && Math.abs(((n.attributes.beta as { float: number } | undefined)?.float ?? 0) - 0.9) < 1e-6);
    assert.equal(folded.length, 2, 'Gemms computing v′ = 0.9·v − lr·g');
    const worst = await checkStep(denseGraph(), options, { x: randn(n * 3, 1), y, n });
    assert.ok(worst < 1e-3, `worst relative error ${worst}`);
  });

  test('SGD with momentum, weighted MSE, on a strided convolution (bias frozen)', async () => {
    const n = 4;
    const worst = await checkStep(
      convGraph(),
      { trainable: ['w'], loss: 'mse', optimizer: { name: 'sgd', momentum: 0.9 }, weighted: true },
      { x: randn(n * 50, 1), y: randn(n * 3, 1), n, w: Float32Array.of(1, 0.5, 2, 1) },
    );
    assert.ok(worst < 1e-3, `worst relative error ${worst}`);
  });

  test("a suffix trains BatchNormalization's scale and bias, not its running statistics nor GroupNorm's exporter constants", async () => {
    // x → Linear → BatchNorm1d → GroupNorm(2 groups) as exporters write it → Linear → Softmax.
    const g = new GraphBuilder('bn_gn');
    const x = g.input('x', ['N', 6]);
    const c = (name: string, n: number, dims: number[], offset = 0) =>
      g.constant(
        name,
        randn(n).map((v) => v + offset),
        dims,
      );
    const linear = g.op('Gemm', [x, c('w1', 96, [6, 16]), c('b1', 16, [16])]);
    const bn = g.op('BatchNormalization', [
      linear,
      c('bn_scale', 16, [16], 1),
      c('bn_bias', 16, [16]),
      c('running_mean', 16, [16]),
      c('running_var', 16, [16], 1.5),
    ]);
    const grouped = g.op('Reshape', [bn, g.ints('groups', [0, 2, -1])]);
    const normed = g.op('InstanceNormalization', [grouped, g.constant('gn_ones', [1, 1], [2]), g.constant('gn_zeros', [0, 0], [2])]);
    const affine = g.op('Add', [g.op('Mul', [g.op('Reshape', [normed, g.ints('back', [0, 16])]), c('gn_weight', 16, [16], 1)]), c('gn_bias', 16, [16])]);
    g.output(g.op('Softmax', [g.op('Gemm', [affine, c('w2', 48, [16, 3])])], { axis: -1 }, 'probs'), ['N', 3]);
    const graph = g.graph();
    const { trainable } = suffixGraph(graph, 'x');
    assert.deepEqual(trainable, ['w1', 'b1', 'bn_scale', 'bn_bias', 'gn_weight', 'gn_bias', 'w2']);
    const y = Float32Array.from({ length: 12 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0));
    const worst = await checkStep(graph, { trainable, loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } }, { x: randn(24, 1), y, n: 4 }, 3e-2);
    assert.ok(worst < 1e-3, `worst relative error ${worst}`);
  });

  test('a tensor the exporter merged (BatchNorm weight = running variance) trains as the weight, the statistic stays', async () => {
    const g = new GraphBuilder('merged');
    const x = g.input('x', ['N', 6]);
    const ones = g.constant(
      'merged_ones',
      randn(6, 0.1).map((v) => v + 1),
      [6],
    );
    const bn = g.op('BatchNormalization', [x, ones, g.constant('bias', randn(6), [6]), g.constant('mean', randn(6), [6]), ones]);
    g.output(g.op('Softmax', [g.op('Gemm', [bn, g.constant('w', randn(18), [6, 3])])], { axis: -1 }, 'probs'), ['N', 3]);
    const suffix = suffixGraph(g.graph(), 'x', { name: 'x', dims: ['N', 6] });
    assert.deepEqual(suffix.trainable, ['merged_ones', 'bias', 'w']);
    const norm = suffix.graph.nodes.find((n) => n.opType === 'BatchNormalization');
    assert.deepEqual(norm?.inputs.slice(1), ['merged_ones', 'bias', 'mean', 'merged_ones_frozen']);
    // Finite differences move only the trained tensor: they agree with the step only if the variance is a copy.
    const y = Float32Array.from({ length: 12 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0));
    const worst = await checkStep(
      suffix.graph,
      { trainable: suffix.trainable, loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } },
      { x: randn(24, 1), y, n: 4 },
    );
    assert.ok(worst < 1e-3, `worst relative error ${worst}`);
  });

  test("shapes through exporters' batch arithmetic: a learned query expanded and tiled over a symbolic batch", async () => {
    // Attention pooling as TorchScript writes latent.expand(N, -1, -1): the −1s replaced by ConstantOfShape's ones.
    const g = new GraphBuilder('attention_pool');
    const x = g.input('x', ['N', 4, 8]);
    const batch = g.op('Slice', [g.op('Shape', [x]), g.ints('start', [0]), g.ints('end', [1])]);
    const wanted = g.op('Concat', [batch, g.ints('keep', [-1, -1])], { axis: 0 });
    const one: TensorValue = { name: 'one', dims: [1], dataType: DataType.INT64, raw: new Uint8Array(BigInt64Array.of(1n).buffer) };
    const ones = g.op('ConstantOfShape', [g.ints('rank', [3])], { value: { tensor: one } });
    const shape = g.op('Where', [g.op('Equal', [wanted, g.ints('minus_one', [-1])]), ones, wanted]);
    const queries = g.op('Tile', [g.op('Expand', [g.constant('latent', randn(8), [1, 1, 8]), shape]), g.ints('repeats', [1, 2, 1])]);
    const scores = g.op('Softmax', [g.op('MatMul', [queries, g.op('Transpose', [x], { perm: [0, 2, 1] })])], { axis: -1 });
    const pooled = g.op('ReduceMean', [g.op('MatMul', [scores, x])], { axes: [1], keepdims: 0 });
    // arange(N) as dynamo writes an index over the batch, here picking every row in order.
    const n = g.op('Squeeze', [batch, g.ints('axis', [0])]);
    const rows = g.op('Range', [g.op('Squeeze', [g.ints('zero', [0])]), n, g.op('Squeeze', [g.ints('step', [1])])]);
    const picked = g.op('Gather', [pooled, rows], { axis: 0 });
    g.op('Sigmoid', [g.op('Gemm', [picked, g.constant('w', randn(24), [8, 3])])], {}, 'head/sigmoid');
    const graph = g.graph();
    assert.deepEqual(inferShapes(graph).get(outputOf(graph))?.dims, ['N', 3]);
    const y = Float32Array.from({ length: 9 }, (_, i) => i % 2);
    const worst = await checkStep(graph, { trainable: ['latent', 'w'], loss: 'binary_crossentropy', optimizer: { name: 'sgd' } }, { x: randn(96, 1), y, n: 3 });
    assert.ok(worst < 1e-3, `worst relative error ${worst}`);
  });

  test('Resize to sizes read from the input (torch interpolate(size=…) with a symbolic batch) trains what is before it', async () => {
    const g = new GraphBuilder('upsample');
    const x = g.input('x', ['N', 2, 3, 4]);
    const conv = g.op('Conv', [x, g.constant('w', randn(18), [3, 2, 1, 3]), g.constant('b', randn(3), [3])], { pads: [0, 1, 0, 1] });
    const batchAndChannels = g.op('Slice', [g.op('Shape', [conv]), g.ints('start', [0]), g.ints('end', [2])]);
    const sizes = g.op('Concat', [batchAndChannels, g.ints('spatial', [5, 7])], { axis: 0 });
    const up = g.op('Resize', [conv, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' });
    const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [g.op('Mul', [up, up])])]);
    g.op('Softmax', [g.op('Gemm', [pooled, g.constant('w2', randn(9), [3, 3])])], { axis: -1 }, 'probs');
    const graph = g.graph();
    assert.deepEqual(inferShapes(graph).get(up)?.dims, ['N', 3, 5, 7]);
    const y = Float32Array.from({ length: 9 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const worst = await checkStep(
      graph,
      { trainable: ['w', 'b', 'w2'], loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } },
      { x: randn(72, 1), y, n: 3 },
    );
    assert.ok(worst < 1e-3, `worst relative error ${worst}`);
  });

  test("shapes through torch's window arithmetic: pads reversed in a [−1, 2] view, Mod, ceil done in floats", () => {
    const g = new GraphBuilder('windows');
    const x = g.input('x', ['N', 6, 7, 3]);
    const dims = g.op('Shape', [x]);
    const dim = (i: number) => g.op('Gather', [dims, g.ints('at', [i])], { axis: 0 });
    // Swin: pad H and W up to a multiple of 4, (4 − size % 4) % 4, pads written [W0, W1, H0, H1] then reversed.
    const four = g.ints('four', [4]);
    const pad = (size: string) => g.op('Mod', [g.op('Sub', [four, g.op('Mod', [size, four])]), four]);
    const zero = g.ints('zero', [0]);
    const torchOrder = g.op('Concat', [zero, zero, zero, pad(dim(2)), zero, pad(dim(1)), zero, zero], { axis: 0 });
    const reversed = g.op('Slice', [
      g.op('Reshape', [torchOrder, g.ints('pairs', [-1, 2])]),
      g.ints('s', [-1]),
      g.ints('e', [-100]),
      g.ints('a', [0]),
      g.ints('st', [-1]),
    ]);
    const pads = g.op('Reshape', [g.op('Transpose', [reversed], { perm: [1, 0] }), g.ints('flat', [-1])]);
    const padded = g.op('Pad', [x, pads]);
    // MobileViT: ceil(H / 2)·2 in floats, cast back to an int for a Reshape.
    const float = (v: string) => g.op('Cast', [v], { to: DataType.FLOAT });
    const two = g.constant('two', [2], [1]);
    const even = g.op('Cast', [g.op('Mul', [g.op('Ceil', [g.op('Div', [float(dim(1)), two])]), two])], { to: DataType.INT64 });
    const folded = g.op('Reshape', [padded, g.op('Concat', [g.ints('minus', [-1]), even, g.ints('rest', [8, 4])], { axis: 0 })]);
    const facts = inferShapes(g.graph());
    assert.deepEqual(facts.get(padded)?.dims, ['N', 8, 8, 3]);
    assert.deepEqual(facts.get(folded)?.dims, ['N', 6, 8, 4]);
  });

  test('clear errors: an op without a rule, a weight the loss does not use, a missing initializer', () => {
    const g = new GraphBuilder('odd');
    const x = g.input('x', ['N', 3]);
    const w = g.constant('w', randn(3), [3]);
    g.op('LpNormalization', [g.op('Mul', [x, w])], { axis: 1 }, 'out');
    const graph = g.graph();
    const base = { input: 'x', output: 'out', loss: 'mse', optimizer: { name: 'sgd' } } as const;
    assert.throws(() => compileGraphTrainStep(graph, { ...base, trainable: ['w'] }), /no gradient rule for ONNX op LpNormalization/);
    assert.throws(() => compileGraphTrainStep(denseGraph(), { ...base, output: 'probs', trainable: ['nope'] }), /'nope' is not an initializer/);
    const h = new GraphBuilder('partial');
    const hx = h.input('x', ['N', 3]);
    h.constant('unused', randn(3), [3]);
    h.op('Mul', [hx, h.constant('k', randn(3), [3])], {}, 'out');
    assert.throws(() => compileGraphTrainStep(h.graph(), { ...base, trainable: ['unused'] }), /does not depend on 'unused'/);
  });
});
