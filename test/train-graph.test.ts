import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { addHead, applications, initBackend, unfreezeFrom } from '../src/index.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { type LossName, type OptimizerSpec, compileTrainStep } from '../src/engine/onnx/train.js';
import { seedWeights } from './seed-weights.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { maxRelative } from './helpers.js';

before(async () => {
  await initBackend('cpu');
});

function head(activation: string, units: number, dropout = 0): tfl.Sequential {
  const layers: tfl.layers.Layer[] = [
    tfl.layers.flatten({ inputShape: [2, 2, 3], name: 'flatten' }),
    tfl.layers.dense({
      units: 8,
      activation: 'relu',
      name: 'd1',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
      biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 4 }),
    }),
  ];
  if (dropout) layers.push(tfl.layers.dropout({ rate: dropout, name: 'drop' }));
  layers.push(tfl.layers.dense({ units, activation: activation as 'linear', name: 'd2', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  return tfl.sequential({ layers });
}

/** Keras's loss of `model` on (x, y), in tfjs, for autograd. */
function kerasLoss(loss: LossName, p: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const eps = 1e-7;
  switch (loss) {
    case 'categorical_crossentropy':
      return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(p, eps, 1))), -1)));
    case 'binary_crossentropy': {
      const q = tf.clipByValue(p, eps, 1 - eps);
      return tf.neg(tf.mean(tf.add(tf.mul(y, tf.log(q)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, q))))));
    }
    case 'mse':
      return tf.mean(tf.square(tf.sub(p, y)));
    case 'mae':
      return tf.mean(tf.abs(tf.sub(p, y)));
  }
}

/** The trainable weights of `layers` (tfjs variables), for autograd. */
const trainableOf = (layers: tfl.layers.Layer[]) => layers.flatMap((l) => l.trainableWeights).map((w) => (w as unknown as { val: tf.Variable }).val);

/**
 * The same steps in plain JS with tfjs gradients and Keras 3's update formulas: the reference. `forward` maps a
 * batch through the trained layers; `layers` are those layers, whose weights it updates in place.
 */
function referenceSteps(
  forward: (x: tf.Tensor) => tf.Tensor,
  layers: tfl.layers.Layer[],
  x: tf.Tensor,
  y: tf.Tensor,
  loss: LossName,
  opt: OptimizerSpec,
  lr: number,
  steps: number,
): { losses: number[]; weights: Float32Array[] } {
  const vars = trainableOf(layers);
  const slots: tf.Tensor[][] = vars.map((v) => [tf.zerosLike(v), tf.zerosLike(v)]);
  const losses: number[] = [];
  for (let t = 1; t <= steps; t++) {
    // One tidy per step, keeping only the optimizer slots: 7M-parameter steps would otherwise exhaust wasm's memory.
    const next = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => kerasLoss(loss, forward(x), y) as tf.Scalar, vars);
      losses.push(value.dataSync()[0]);
      return vars.map((variable, i) => {
        const g = grads[variable.name];
        const [s1, s2] = slots[i];
        if (opt.name === 'sgd') {
          const m = opt.momentum ?? 0;
          const v = tf.sub(tf.mul(s1, m), tf.mul(g, lr));
          variable.assign(m ? tf.add(variable, v) : tf.sub(variable, tf.mul(g, lr)));
          return [tf.keep(v), s2];
        }
        if (opt.name === 'adam') {
          const alpha = (lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
          const m = tf.add(tf.mul(s1, 0.9), tf.mul(g, 0.1));
          const v = tf.add(tf.mul(s2, 0.999), tf.mul(tf.square(g), 0.001));
          variable.assign(tf.sub(variable, tf.mul(alpha, tf.div(m, tf.add(tf.sqrt(v), 1e-7)))));
          return [tf.keep(m), tf.keep(v)];
        }
        const v = tf.add(tf.mul(s1, 0.9), tf.mul(tf.square(g), 0.1));
        variable.assign(tf.sub(variable, tf.div(tf.mul(g, lr), tf.sqrt(tf.add(v, 1e-7)))));
        return [tf.keep(v), s2];
      });
    });
    slots.forEach((old, i) => old.forEach((o) => !next[i].includes(o) && o.dispose()));
    next.forEach((n, i) => (slots[i] = n));
  }
  return { losses, weights: vars.map((v) => v.dataSync() as Float32Array) };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const CASES: Array<[LossName, string, number, OptimizerSpec]> = [
  ['categorical_crossentropy', 'softmax', 3, { name: 'sgd', momentum: 0.9 }],
  ['categorical_crossentropy', 'softmax', 3, { name: 'adam' }],
  ['binary_crossentropy', 'sigmoid', 1, { name: 'sgd' }],
  ['binary_crossentropy', 'sigmoid', 1, { name: 'rmsprop' }],
  ['mse', 'linear', 2, { name: 'adam' }],
  ['mae', 'linear', 2, { name: 'sgd', momentum: 0.5 }],
];

describe('training-step graphs in ONNX Runtime match tfjs autograd with Keras optimizers', () => {
  for (const [loss, activation, units, optimizer] of CASES) {
    test(`${loss} + ${activation} output, ${optimizer.name}${'momentum' in optimizer ? ` momentum ${optimizer.momentum}` : ''}: 3 steps`, async () => {
      const x = tf.randomNormal([6, 2, 2, 3], 0, 1, 'float32', 5);
      const labels = [0, 2, 1, 2, 0, 1];
      const y =
        loss === 'categorical_crossentropy'
          ? tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 3), 'float32')
          : loss === 'binary_crossentropy'
            ? tf.tensor2d(labels.map((l) => [l % 2]))
            : tf.randomNormal([6, 2], 0, 1, 'float32', 6);
      const ref = head(activation, units);
      const expected = referenceSteps((b) => ref.apply(b) as tf.Tensor, ref.layers, x, y, loss, optimizer, 0.05, 3);

      const model = head(activation, units);
      const trainer = await OrtTrainer.create(model, { loss, optimizer });
      const losses: number[] = [];
      for (let s = 0; s < 3; s++) losses.push((await trainer.step(x.dataSync() as Float32Array, y.dataSync() as Float32Array, 6, 0.05)).loss);
      trainer.writeBack();
      losses.forEach((l, i) => assert.ok(Math.abs(l - expected.losses[i]) < 1e-5, `step ${i}: loss ${l} vs ${expected.losses[i]}`));
      model.trainableWeights.forEach((w, i) => {
        const d = maxDiff(w.read().dataSync() as Float32Array, expected.weights[i]);
        assert.ok(d < 1e-5, `${w.name}: max difference ${d}`);
      });
      await trainer.dispose();
    });
  }

  test('convolutions (same and valid, strided first and inside), ReLU and 2x2 max pooling: 3 SGD-momentum steps', async () => {
    const build = () =>
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({
            inputShape: [9, 9, 3],
            filters: 4,
            kernelSize: 3,
            strides: 2,
            padding: 'same',
            activation: 'relu',
            name: 'c0',
            kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
            biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 5 }),
          }),
          tfl.layers.conv2d({
            filters: 5,
            kernelSize: 3,
            padding: 'same',
            activation: 'relu',
            name: 'c1',
            kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }),
            biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 6 }),
          }),
          // Strided inside the trained part, 'valid' over 5x5 with a kernel of 2: the last row and column get no window.
          tfl.layers.conv2d({
            filters: 6,
            kernelSize: 2,
            strides: 2,
            padding: 'valid',
            activation: 'linear',
            name: 'c2',
            kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }),
          }),
          tfl.layers.maxPooling2d({ poolSize: 2, name: 'p' }),
          tfl.layers.flatten({ name: 'f' }),
          tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
        ],
      });
    const x = tf.randomNormal([5, 9, 9, 3], 0, 1, 'float32', 8);
    const y = tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0], 'int32'), 3), 'float32');
    const optimizer: OptimizerSpec = { name: 'sgd', momentum: 0.9 };
    const ref = build();
    const expected = referenceSteps((b) => ref.apply(b) as tf.Tensor, ref.layers, x, y, 'categorical_crossentropy', optimizer, 0.05, 3);
    const model = build();
    const trainer = await OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer });
    for (let s = 0; s < 3; s++) {
      const { loss } = await trainer.step(x.dataSync() as Float32Array, y.dataSync() as Float32Array, 5, 0.05);
      assert.ok(Math.abs(loss - expected.losses[s]) < 1e-5, `step ${s}: ${loss} vs ${expected.losses[s]}`);
    }
    trainer.writeBack();
    model.trainableWeights.forEach((w, i) => assert.ok(maxDiff(w.read().dataSync() as Float32Array, expected.weights[i]) < 1e-5, w.name));
  });

  test("wide 3×3 convolutions (Winograd's F(4×4, 3×3): 'same' cropped, 'valid', strided stays im2col): one SGD step", async () => {
    const conv = (name: string, seed: number, args: Partial<Parameters<typeof tfl.layers.conv2d>[0]>) =>
      tfl.layers.conv2d({ filters: 128, kernelSize: 3, name, kernelInitializer: tfl.initializers.heNormal({ seed }), ...args });
    const build = () =>
      tfl.sequential({
        layers: [
          conv('c0', 1, {
            inputShape: [10, 13, 128],
            padding: 'same',
            activation: 'relu',
            biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 5 }),
          }),
          conv('c1', 2, { padding: 'valid', activation: 'relu', useBias: false }),
          conv('c2', 3, { strides: 2, padding: 'same', activation: 'linear' }),
          tfl.layers.flatten({ name: 'f' }),
          tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
        ],
      });
    const x = tf.randomNormal([4, 10, 13, 128], 0, 1, 'float32', 8);
    const y = tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3), 'float32');
    const optimizer: OptimizerSpec = { name: 'sgd' };
    const ref = build();
    const expected = referenceSteps((b) => ref.apply(b) as tf.Tensor, ref.layers, x, y, 'categorical_crossentropy', optimizer, 0.01, 1);
    const model = build();
    // Compiled for batches of 8 (c1's 8×11 output: 6 blocks an image, 48 rows): c0's and c1's products (and c1's
    // dX) are the tiled MatMuls; c2, strided, stays one im2col product. For one image a batch, none takes the form.
    const dUs = (batchSize: number) =>
      decodeModel(compileTrainStep(model, { loss: 'categorical_crossentropy', optimizer, winograd: true, batchSize }).onnx).graph.nodes.filter((n) =>
        n.name.startsWith('dU'),
      ).length;
    assert.equal(dUs(8), 2);
    assert.equal(dUs(1), 0);
    // The step runs 4 images in a graph compiled for 8 (any batch runs).
    const trainer = await OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer, batchSize: 8 });
    const { loss } = await trainer.step(x.dataSync() as Float32Array, y.dataSync() as Float32Array, 4, 0.01);
    assert.ok(Math.abs(loss - expected.losses[0]) < 1e-5 * Math.max(1, expected.losses[0]), `${loss} vs ${expected.losses[0]}`);
    trainer.writeBack();
    // The updates (weights after minus before) agree, not only the weights they are small beside.
    const before = build().trainableWeights.map((w) => w.read().dataSync() as Float32Array);
    const change = (w: Float32Array, i: number) => w.map((v, k) => v - before[i][k]);
    model.trainableWeights.forEach((w, i) =>
      assert.ok(maxRelative(change(w.read().dataSync() as Float32Array, i), change(expected.weights[i], i)) < 5e-5, w.name),
    );
  });

  test("the seed's fine-tune: VGG16 block5 + flatten, dense 256 relu, dense 1 sigmoid at 32x32, 20 Adam steps on cached block4 features", async () => {
    // tfjs's cpu backend takes ~40 s per step here and its wasm backend has no conv filter gradient, so the
    // reference runs on wasm with each convolution written as shifted slices + MatMul (checked against
    // tf.conv2d first), differentiated by tfjs's autograd.
    await initBackend('wasm');
    try {
      const base = await applications.vgg16({ weights: null, includeTop: false, inputShape: [32, 32, 3] });
      const model = addHead(base, 'flatten, dense:256:relu, dense:1:sigmoid');
      // Seeded weights (Keras's initializers, drawn with seeds): with a fresh draw each run, about one draw in
      // six left near-zero gradients whose Adam updates diverge in sign between the two float32 implementations.
      seedWeights(model, { zeroVectors: true, glorot: true });
      unfreezeFrom(model, 'block5_conv1');
      const prefix = tfl.model({ inputs: base.inputs, outputs: base.getLayer('block5_conv1').input as tfl.SymbolicTensor });
      const features = prefix.predict(tf.randomUniform([8, 32, 32, 3], -1, 1, 'float32', 12)) as tf.Tensor;
      assert.deepEqual(features.shape, [8, 2, 2, 512]);
      const y = tf.tensor2d([[0], [1], [1], [0], [1], [0], [0], [1]]);
      const convs = ['block5_conv1', 'block5_conv2', 'block5_conv3'].map((n) => base.getLayer(n));
      const [fc, out] = [model.layers[2], model.layers[3]];
      const conv = (h: tf.Tensor, l: tfl.layers.Layer) => {
        const [kernel, bias] = l.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
        const xp = tf.pad(h, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]);
        const patches: tf.Tensor[] = [];
        for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) patches.push(tf.slice(xp, [0, i, j, 0], [-1, 2, 2, 512]));
        const cols = tf.reshape(tf.concat(patches, 3), [-1, 9 * 512]);
        return tf.relu(tf.reshape(tf.add(tf.matMul(cols, tf.reshape(kernel, [9 * 512, 512])), bias), [-1, 2, 2, 512]));
      };
      const check = tf.relu(tf.add(tf.conv2d(features as tf.Tensor4D, convs[0].getWeights()[0] as tf.Tensor4D, 1, 'same'), convs[0].getWeights()[1]));
      assert.ok(
        maxDiff(conv(features, convs[0]).dataSync() as Float32Array, check.dataSync() as Float32Array) < 1e-4,
        'the reference convolution is tf.conv2d',
      );
      const forward = (b: tf.Tensor) => {
        let h = convs.reduce(conv, b);
        h = tf.max(tf.reshape(h, [-1, 1, 2, 1, 2, 512]), [2, 4]);
        return out.apply(fc.apply(tf.reshape(h, [-1, 512]))) as tf.Tensor;
      };
      const suffix = [...convs, fc, out];
      const snapshot = suffix.map((l) => l.getWeights().map((w) => w.clone()));
      const optimizer: OptimizerSpec = { name: 'adam' };
      const expected = referenceSteps(forward, suffix, features, y, 'binary_crossentropy', optimizer, 1e-4, 20);
      suffix.forEach((l, i) => l.setWeights(snapshot[i]));
      const trainer = await OrtTrainer.create(model, { from: 'block5_conv1', loss: 'binary_crossentropy', optimizer });
      assert.equal(
        trainer.graph.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
        7_211_009,
      );
      const losses: number[] = [];
      for (let s = 0; s < 20; s++) losses.push((await trainer.step(features.dataSync() as Float32Array, y.dataSync() as Float32Array, 8, 1e-4)).loss);
      // ORT's multithreaded sums are not bit-reproducible and Adam amplifies the last bits over 20 steps:
      // 1e-4 for the first steps, 1e-3 after.
      losses.forEach((l, i) =>
        assert.ok(
          Math.abs(l - expected.losses[i]) < (i < 5 ? 1e-4 : 1e-3) * Math.max(1, Math.abs(expected.losses[i])),
          `step ${i}: ${l} vs ${expected.losses[i]}`,
        ),
      );
      assert.ok(losses[19] < losses[0], `loss falls: ${losses[0]} → ${losses[19]}`);
      trainer.writeBack();
      // Adam moves a weight by ~lr whatever the size of its gradient, so near-zero gradients can diverge in sign
      // between two float32 implementations: check the typical difference tightly and the largest loosely.
      suffix
        .flatMap((l) => l.trainableWeights)
        .forEach((w, i) => {
          const got = w.read().dataSync() as Float32Array;
          let sum = 0;
          for (let k = 0; k < got.length; k++) sum += Math.abs(got[k] - expected.weights[i][k]);
          assert.ok(sum / got.length < 5e-6, `${w.name}: mean difference ${sum / got.length}`);
          assert.ok(maxDiff(got, expected.weights[i]) < 1e-3, `${w.name}: max difference ${maxDiff(got, expected.weights[i])}`);
        });
      await trainer.dispose();
    } finally {
      await initBackend('cpu');
    }
  });

  test("max pooling sends a tied window's gradient to its first maximum only, like tfjs", async () => {
    const build = () =>
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ inputShape: [4, 4, 1], filters: 1, kernelSize: 1, useBias: false, name: 'c', kernelInitializer: tfl.initializers.ones() }),
          tfl.layers.maxPooling2d({ poolSize: 2, name: 'p' }),
          tfl.layers.flatten({ name: 'f' }),
          tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'o', kernelInitializer: tfl.initializers.ones() }),
        ],
      });
    // Every window holds ties: two equal maxima in the first, four in the others.
    const x = tf.tensor4d([3, 3, 1, 1, 0, 1, 1, 1, 2, 2, 5, 5, 2, 2, 5, 5], [1, 4, 4, 1]);
    const y = tf.tensor2d([[0]]);
    const ref = build();
    const expected = referenceSteps((b) => ref.apply(b) as tf.Tensor, ref.layers, x, y, 'binary_crossentropy', { name: 'sgd' }, 0.1, 1);
    const model = build();
    const trainer = await OrtTrainer.create(model, { loss: 'binary_crossentropy', optimizer: { name: 'sgd' } });
    await trainer.step(x.dataSync() as Float32Array, y.dataSync() as Float32Array, 1, 0.1);
    trainer.writeBack();
    assert.ok(maxDiff(model.getLayer('c').getWeights()[0].dataSync() as Float32Array, expected.weights[0]) < 1e-6);
  });

  test('a frozen layer is a constant: only the trainable one changes', async () => {
    const model = head('softmax', 3);
    model.getLayer('d1').trainable = false;
    const before = model.getLayer('d1').getWeights()[0].dataSync().slice();
    const trainer = await OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } });
    assert.deepEqual(
      trainer.graph.params.map((p) => p.layer.name),
      ['d2', 'd2'],
    );
    const x = tf.randomNormal([4, 2, 2, 3], 0, 1, 'float32', 9).dataSync() as Float32Array;
    const y = tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3), 'float32').dataSync() as Float32Array;
    await trainer.step(x, y, 4, 0.1);
    trainer.writeBack();
    assert.deepEqual(model.getLayer('d1').getWeights()[0].dataSync(), before);
  });

  test('dropout takes a seeded mask per step and training still lowers the loss', async () => {
    const model = head('softmax', 3, 0.5);
    const trainer = await OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer: { name: 'adam' }, seed: 3 });
    assert.deepEqual(
      trainer.graph.masks.map((m) => [m.rate, m.shape]),
      [[0.5, [8]]],
    );
    const x = tf.randomNormal([16, 2, 2, 3], 0, 1, 'float32', 9).dataSync() as Float32Array;
    const y = tf
      .cast(
        tf.oneHot(
          tf.tensor1d(
            Array.from({ length: 16 }, (_, i) => i % 3),
            'int32',
          ),
          3,
        ),
        'float32',
      )
      .dataSync() as Float32Array;
    const first = (await trainer.step(x, y, 16, 0.01)).loss;
    let last = first;
    for (let i = 0; i < 60; i++) last = (await trainer.step(x, y, 16, 0.01)).loss;
    assert.ok(last < first * 0.8, `loss ${first} → ${last}`);
  });

  test('unsupported pieces are clear errors', async () => {
    const model = head('relu', 3);
    await assert.rejects(
      OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } }),
      /categorical_crossentropy needs a softmax output layer/,
    );
    const dilated = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [6, 6, 3], filters: 2, kernelSize: 3, dilationRate: 2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    await assert.rejects(OrtTrainer.create(dilated, { loss: 'binary_crossentropy', optimizer: { name: 'sgd' } }), /cannot train conv2d.*dilation 2x2/);
  });
});

/** Every kernel drawn again by Glorot uniform with its own seed, every bias zero (Keras's defaults, repeatable). */
