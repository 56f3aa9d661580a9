// The inference graph's faster forms (issue 30's forward rows): what the compiler emits for them, and that the
// compiled graph still agrees with tfjs.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/index.js';
import { compileInference } from '../src/engine/onnx/compile.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { createPredictor } from '../src/engine/predictor.js';
import { OrtPredictor } from '../src/engine/ort.js';
import { maxRelative } from './helpers.js';

before(() => initBackend('cpu'));

const init = (seed: number) => tfl.initializers.randomUniform({ minval: -0.5, maxval: 1.5, seed });

/** A 1×1 convolution, the LayerNormalization under test, a 1×1 convolution: a ConvNeXt block's shape. */
function block(norm: tfl.layers.Layer): tfl.LayersModel {
  const input = tfl.input({ shape: [5, 4, 6] });
  const conv = (seed: number) => tfl.layers.conv2d({ filters: 6, kernelSize: 1, kernelInitializer: init(seed), biasInitializer: init(seed + 1) });
  const y = conv(3).apply(norm.apply(conv(1).apply(input))) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: y });
}

async function maxRelativeError(model: tfl.LayersModel): Promise<number> {
  const x = tf.randomNormal([2, 5, 4, 6], 0, 2, 'float32', 7);
  const ort = await createPredictor(model, { engine: 'ort' });
  const a = await ort.predict(x.dataSync() as Float32Array, 2);
  await ort.dispose();
  const b = (model.predict(x) as tf.Tensor).dataSync();
  assert.equal(a.length, b.length);
  return maxRelative(a, b);
}

describe('LayerNormalization over a feature map at inference', () => {
  test("is ONNX's one LayerNormalization op over the NHWC view, not elementwise statistics", () => {
    const norm = tfl.layers.layerNormalization({ epsilon: 1e-6, gammaInitializer: init(5), betaInitializer: init(6) });
    const ops = decodeModel(compileInference(block(norm)).onnx).graph.nodes.map((n) => n.opType);
    assert.equal(ops.filter((op) => op === 'LayerNormalization').length, 1);
    assert.ok(!ops.includes('ReduceMean'), ops.join(' '));
  });

  for (const [name, args] of [
    ['with scale and centre', {}],
    ['scale only (beta taken as zeros)', { center: false }],
    ['centre only (gamma taken as ones)', { scale: false }],
  ] as const)
    test(`agrees with tfjs: ${name}`, async () => {
      const norm = tfl.layers.layerNormalization({ epsilon: 1e-3, gammaInitializer: init(5), betaInitializer: init(6), ...args });
      assert.ok((await maxRelativeError(block(norm))) < 1e-5);
    });
});

describe('zero padding before a convolution at inference', () => {
  /** ZeroPadding2D, then `conv` on the padded map and, where `twice`, the padded map flattened beside it. */
  function padded(conv: tfl.layers.Layer, twice = false): tfl.LayersModel {
    const input = tfl.input({ shape: [5, 4, 6] });
    const p = tfl.layers
      .zeroPadding2d({
        padding: [
          [0, 1],
          [2, 1],
        ],
      })
      .apply(input) as tfl.SymbolicTensor;
    const y = tfl.layers.flatten().apply(conv.apply(p)) as tfl.SymbolicTensor;
    const out = twice ? (tfl.layers.concatenate().apply([y, tfl.layers.flatten().apply(p) as tfl.SymbolicTensor]) as tfl.SymbolicTensor) : y;
    return tfl.model({ inputs: input, outputs: out });
  }
  const depthwise = (padding: 'valid' | 'same') =>
    tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding, depthwiseInitializer: init(2), biasInitializer: init(3) });
  const opsOf = (m: tfl.LayersModel) => decodeModel(compileInference(m).onnx).graph.nodes.map((n) => n.opType);

  test("becomes the 'valid' convolution's own padding (MobileNetV2's strided depthwise convolutions), same outputs", async () => {
    const m = padded(depthwise('valid'));
    assert.ok(!opsOf(m).includes('Pad'), opsOf(m).join(' '));
    assert.ok((await maxRelativeError(m)) < 1e-5);
  });

  for (const [name, m] of [
    ["a 'same' convolution", () => padded(depthwise('same'))],
    ['a padded map used twice', () => padded(depthwise('valid'), true)],
  ] as const)
    test(`stays a Pad before ${name}, same outputs`, async () => {
      assert.ok(opsOf(m()).includes('Pad'));
      assert.ok((await maxRelativeError(m())) < 1e-5);
    });
});

describe("a wide 3×3 convolution at inference (Winograd's F(4×4, 3×3))", () => {
  /** One Conv2D with bias and relu over a [h, w, channels] input. */
  function wide(h: number, w: number, channels: number, args: Partial<Parameters<typeof tfl.layers.conv2d>[0]> = {}): tfl.LayersModel {
    const input = tfl.input({ shape: [h, w, channels] });
    const conv = tfl.layers.conv2d({
      filters: 128,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      // Seeded: on some unseeded draws the 8×8 linear case's error passed 1e-5 of the scale (a flaky test).
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }),
      biasInitializer: init(4),
      ...args,
    });
    return tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor });
  }
  const opsOf = (m: tfl.LayersModel, winograd = true, batchSize = 8) =>
    decodeModel(compileInference(m, { winograd, batchSize }).onnx).graph.nodes.map((n) => n.opType);
  // Compiled for batches of 8 (the form's choice), run on 2 images: any batch runs.
  async function relativeError(model: tfl.LayersModel, batchSize = 8): Promise<number> {
    const [, h, w, c] = model.inputs[0].shape as number[];
    const x = tf.randomNormal([2, h, w, c], 0, 1, 'float32', 9);
    const ort = await createPredictor(model, { engine: 'ort', batchSize });
    const a = await ort.predict(x.dataSync() as Float32Array, 2);
    await ort.dispose();
    return maxRelative(a, (model.predict(x) as tf.Tensor).dataSync());
  }

  for (const [name, make] of [
    ["'same', a size that is no multiple of 4 (the last blocks cropped)", () => wide(13, 10, 128)],
    ["'valid'", () => wide(12, 17, 160, { padding: 'valid' })],
    ['without bias, linear', () => wide(8, 8, 128, { useBias: false, activation: 'linear' })],
  ] as const)
    test(`is Gather and MatMuls, no Conv, and agrees with tfjs: ${name}`, async () => {
      const ops = opsOf(make());
      assert.ok(!ops.includes('Conv') && ops.includes('Gather') && ops.filter((op) => op === 'MatMul').length === 3, ops.join(' '));
      assert.ok((await relativeError(make())) < 1e-5);
    });

  for (const [name, make] of [
    ['narrow (64 channels in)', () => wide(16, 16, 64)],
    ['strided', () => wide(16, 16, 128, { strides: 2 })],
    ['on a small map (6×6 out)', () => wide(6, 6, 128)],
  ] as const)
    test(`stays a Conv where it would not pay: ${name}`, () => {
      assert.ok(opsOf(make()).includes('Conv'));
    });

  test('stays a Conv before a BatchNormalization (which ONNX Runtime folds into the Conv: ResNet)', () => {
    const input = tfl.input({ shape: [16, 16, 128] });
    const conv = tfl.layers.conv2d({ filters: 128, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: tfl.layers.batchNormalization().apply(conv) as tfl.SymbolicTensor });
    assert.ok(opsOf(m).includes('Conv'));
  });

  test('stays a Conv in a graph for other runtimes (export, a GPU: compileInference without `winograd`)', () => {
    assert.ok(opsOf(wide(16, 16, 128), false).includes('Conv'));
  });

  test('is chosen for the batch size the graph is compiled for: 16 blocks an image take it from 2 images on, not at 1', () => {
    // Below 32 rows of tile products reading the transformed kernel (4× the weights) costs more than it saves.
    assert.ok(opsOf(wide(16, 16, 128), true, 1).includes('Conv'));
    assert.ok(!opsOf(wide(16, 16, 128), true, 2).includes('Conv'));
    // 8×8 out: 4 blocks an image, from 8 images on.
    assert.ok(opsOf(wide(8, 8, 128), true, 4).includes('Conv'));
    assert.ok(!opsOf(wide(8, 8, 128), true, 8).includes('Conv'));
  });

  test('takes a 4×4 output (one block, VGG16 at 32×32: block 4) from 32 images, not 5×5 to 7×7 (padded to 8×8)', async () => {
    const matMuls = (ops: string[]) => ops.filter((op) => op === 'MatMul').length;
    // The form's three products; for fewer images the one im2col product (convAsGemm) it had before.
    assert.equal(matMuls(opsOf(wide(4, 4, 128), true, 32)), 3);
    assert.equal(matMuls(opsOf(wide(4, 4, 128), true, 16)), 1);
    assert.ok(opsOf(wide(5, 5, 128), true, 32).includes('Conv'));
    assert.ok(opsOf(wide(7, 7, 128), true, 32).includes('Conv'));
    // A single tile's border outputs carry the transform's largest coefficients (±8): 4e-6 to 1.2e-5 of the scale
    // over 20 kernels, as F(4×4, 3×3) is known to.
    assert.ok((await relativeError(wide(4, 4, 128), 32)) < 3e-5);
  });

  test("ONNX Runtime's CPU predictor compiles for its `batchSize` (default 1)", async () => {
    const graphOps = async (batchSize?: number) => {
      const p = await OrtPredictor.create(wide(16, 16, 128), batchSize === undefined ? {} : { batchSize });
      await p.dispose();
      return decodeModel(p.graph.onnx).graph.nodes.map((n) => n.opType);
    };
    assert.ok((await graphOps()).includes('Conv'));
    assert.ok(!(await graphOps(32)).includes('Conv'));
  });
});
