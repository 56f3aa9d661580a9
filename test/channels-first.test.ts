// The training step of an inverted-residual block keeps its expanded part channels first (keras-layers/
// channels-first.ts): no layout conversion of it between the 1×1 expand and project convolutions, and each 1×1
// kernel's SGD momentum still folded into its weight-gradient Gemm, now with transposed operands
// (fold-momentum.ts) — with the same updates as the unfolded rule. The gradients themselves are checked against
// tfjs autograd by keras-layers.test.ts's inverted-residual cases.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/index.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { maxRelative } from './helpers.js';

before(async () => {
  await initBackend('cpu');
});

type Sym = tfl.SymbolicTensor;
const apply = (l: tfl.layers.Layer, x: Sym | Sym[]) => l.apply(x) as Sym;
const bn = () => tfl.layers.batchNormalization({});
const pointwise = (filters: number, activation = 'linear') =>
  tfl.layers.conv2d({ filters, kernelSize: 1, activation: activation as 'linear', useBias: activation !== 'linear' });

/**
 * EfficientNet's MBConv block with its residual, 5×5 maps of 4 channels expanded to `width` (12; 520 makes the expand
 * kernel's gradient a wide product, transposed-product.ts), and a sigmoid Dense head; every weight drawn from
 * [−0.5, 0.5] (moving variances from [0.5, 1.5]).
 */
function block(width = 12): tfl.LayersModel {
  const input = tfl.input({ shape: [5, 5, 4] });
  const swish = () => tfl.layers.activation({ activation: 'swish' });
  const expanded = apply(swish(), apply(bn(), apply(pointwise(width), input)));
  const depthwise = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false });
  const mixed = apply(swish(), apply(bn(), apply(depthwise, expanded)));
  const squeezed = apply(tfl.layers.reshape({ targetShape: [1, 1, width] }), apply(tfl.layers.globalAveragePooling2d({}), mixed));
  const scales = apply(pointwise(width, 'sigmoid'), apply(pointwise(3, 'swish'), squeezed));
  const projected = apply(bn(), apply(pointwise(4), apply(tfl.layers.multiply(), [mixed, scales])));
  const joined = apply(tfl.layers.add(), [projected, input]);
  const out = apply(tfl.layers.dense({ units: 1, activation: 'sigmoid' }), apply(tfl.layers.flatten(), joined));
  const model = tfl.model({ inputs: input, outputs: out });
  model.setWeights(
    model.weights.map((w, i) => {
      const [low, high] = w.name.includes('moving_variance') ? [0.5, 1.5] : [-0.5, 0.5];
      return tf.randomUniform(w.shape as number[], low, high, 'float32', i);
    }),
  );
  return model;
}

test('an MBConv block trains with its expanded part channels first: no layout conversion between its 1x1 convolutions', async () => {
  const trainer = await OrtTrainer.create(block(), { loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
  const { graph } = decodeModel(trainer.graph.onnx);
  await trainer.dispose();
  const conversions = graph.nodes.filter((n) => n.outputs.some((o) => /^to_(cf|nhwc)/.test(o)));
  assert.deepEqual(
    conversions.map((n) => n.outputs[0]),
    [],
    'channels-first values converted',
  );
  // The 1×1 kernels' momentum: each new slot is a Gemm's output, the expand one's with both operands transposed.
  const producer = (value: string) => graph.nodes.find((n) => n.outputs.includes(value));
  const kernels = trainer.graph.params.filter((p) => p.input.endsWith('/kernel') && p.shape.length === 4 && p.shape[0] === 1);
  assert.equal(kernels.length, 4);
  const flags = kernels.map((p) => {
    const gemm = producer(p.slots[0].output);
    assert.equal(gemm?.opType, 'Gemm', `${p.input}: its new momentum comes from ${gemm?.opType}`);
    return `${gemm.attributes.transA ? 'Aᵀ' : 'A'}·${gemm.attributes.transB ? 'Bᵀ' : 'B'}`;
  });
  assert.ok(flags.includes('Aᵀ·Bᵀ') && flags.includes('A·B'), `the folded products: ${flags.join(', ')}`);
});

test("expanded to 520 channels: the expand kernel's product takes X transposed explicitly, its momentum still folded in the 2-D shape", async () => {
  const trainer = await OrtTrainer.create(block(520), { loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
  const { graph } = decodeModel(trainer.graph.onnx);
  await trainer.dispose();
  const producer = (value: string) => graph.nodes.find((n) => n.outputs.includes(value));
  const expand = trainer.graph.params.find((p) => p.input.endsWith('/kernel') && p.shape[3] === 520 && p.shape[2] === 4);
  assert.ok(expand);
  const gemm = producer(expand.slots[0].output);
  assert.equal(gemm?.opType, 'Gemm');
  assert.deepEqual([gemm.attributes.transA, gemm.attributes.transB], [undefined, 1], 'A·Bᵀ');
  const scaled = producer(gemm.inputs[0]);
  assert.equal(producer(scaled?.opType === 'Mul' ? scaled.inputs[0] : gemm.inputs[0])?.opType, 'Squeeze');
  assert.deepEqual(expand.outputShape, [4, 520], "the new slot in the kernel's 2-D shape, a constant: no Reshape copying it");
});

for (const width of [12, 520])
  test(`the folded momentum of the transposed Gemms (${width} channels): two steps with momentum m differ from plain SGD by m·(first update)`, async () => {
    const model = block(width);
    const x = tf.randomNormal([3, 5, 5, 4], 0, 1, 'float32', 7).dataSync() as Float32Array;
    const y = Float32Array.from([1, 0, 1]);
    const lr = 0.05;
    const m = 0.9;
    const run = async (momentum: number) => {
      const trainer = await OrtTrainer.create(model, { loss: 'binary_crossentropy', optimizer: momentum ? { name: 'sgd', momentum } : { name: 'sgd' } });
      const before = trainer.snapshot();
      await trainer.step(x, y, 3, lr);
      const first = trainer.snapshot();
      await trainer.step(x, y, 3, lr);
      const second = trainer.snapshot();
      await trainer.dispose();
      return { before, first, second };
    };
    const withMomentum = await run(m);
    const plain = await run(0);
    withMomentum.second.forEach((w, i) => {
      const { before, first } = plain;
      const expected = plain.second[i].map((v, k) => v + m * (first[i][k] - before[i][k]));
      const scale = Math.max(1e-3, ...Array.from(expected, Math.abs));
      const err = w.reduce((e, v, k) => Math.max(e, Math.abs(v - expected[k])), 0);
      assert.ok(err / scale < 1e-5, `weight ${i}: relative error ${err / scale}`);
    });
  });

test("the channels-first step's forward: its output equals tfjs's predict", async () => {
  const model = block();
  const x = tf.randomNormal([3, 5, 5, 4], 0, 1, 'float32', 8);
  const y = Float32Array.from([1, 0, 1]);
  const trainer = await OrtTrainer.create(model, { loss: 'binary_crossentropy', optimizer: { name: 'sgd' } });
  const { output } = await trainer.step(x.dataSync() as Float32Array, y, 3, 0);
  await trainer.dispose();
  assert.ok(maxRelative(output, (model.predict(x) as tf.Tensor).dataSync()) < 1e-5, 'output against tfjs');
});
