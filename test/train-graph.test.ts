import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/index.js';
import { OrtTrainer } from '../src/engine/trainer.js';
import type { LossName, OptimizerSpec } from '../src/engine/onnx/train.js';

before(async () => {
  await initBackend('cpu');
});

function head(activation: string, units: number, dropout = 0): tfl.Sequential {
  const layers: tfl.layers.Layer[] = [
    tfl.layers.flatten({ inputShape: [2, 2, 3], name: 'flatten' }),
    tfl.layers.dense({ units: 8, activation: 'relu', name: 'd1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 4 }) }),
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

/** The same steps in plain JS with tfjs gradients and Keras 3's update formulas: the reference. */
function referenceSteps(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, loss: LossName, opt: OptimizerSpec, lr: number, steps: number): { losses: number[]; weights: Float32Array[] } {
  const vars = model.trainableWeights.map((w) => tf.variable(w.read().clone()));
  const slots: tf.Tensor[][] = vars.map((v) => [tf.zerosLike(v), tf.zerosLike(v)]);
  const losses: number[] = [];
  for (let t = 1; t <= steps; t++) {
    model.setWeights(model.weights.map((w, i) => (w.trainable ? vars[model.trainableWeights.indexOf(w as never)] : model.getWeights()[i])));
    const { value, grads } = tf.variableGrads(() => kerasLoss(loss, model.apply(x) as tf.Tensor, y) as tf.Scalar, model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
    losses.push(value.dataSync()[0]);
    model.trainableWeights.forEach((w, i) => {
      const g = grads[(w as unknown as { val: tf.Variable }).val.name];
      const [s1, s2] = slots[i];
      if (opt.name === 'sgd') {
        const m = opt.momentum ?? 0;
        const v = tf.sub(tf.mul(s1, m), tf.mul(g, lr));
        slots[i][0] = v;
        vars[i].assign(m ? tf.add(vars[i], v) : tf.sub(vars[i], tf.mul(g, lr)));
      } else if (opt.name === 'adam') {
        const alpha = (lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
        const m = tf.add(tf.mul(s1, 0.9), tf.mul(g, 0.1));
        const v = tf.add(tf.mul(s2, 0.999), tf.mul(tf.square(g), 0.001));
        slots[i] = [m, v];
        vars[i].assign(tf.sub(vars[i], tf.mul(alpha, tf.div(m, tf.add(tf.sqrt(v), 1e-7)))));
      } else {
        const v = tf.add(tf.mul(s1, 0.9), tf.mul(tf.square(g), 0.1));
        slots[i][0] = v;
        vars[i].assign(tf.sub(vars[i], tf.div(tf.mul(g, lr), tf.sqrt(tf.add(v, 1e-7)))));
      }
    });
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
      const expected = referenceSteps(ref, x, y, loss, optimizer, 0.05, 3);

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

  test('a frozen layer is a constant: only the trainable one changes', async () => {
    const model = head('softmax', 3);
    model.getLayer('d1').trainable = false;
    const before = model.getLayer('d1').getWeights()[0].dataSync().slice();
    const trainer = await OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } });
    assert.deepEqual(trainer.graph.params.map((p) => p.layer.name), ['d2', 'd2']);
    const x = tf.randomNormal([4, 2, 2, 3], 0, 1, 'float32', 9).dataSync() as Float32Array;
    const y = tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3), 'float32').dataSync() as Float32Array;
    await trainer.step(x, y, 4, 0.1);
    trainer.writeBack();
    assert.deepEqual(model.getLayer('d1').getWeights()[0].dataSync(), before);
  });

  test('dropout takes a seeded mask per step and training still lowers the loss', async () => {
    const model = head('softmax', 3, 0.5);
    const trainer = await OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer: { name: 'adam' }, seed: 3 });
    assert.deepEqual(trainer.graph.masks.map((m) => [m.rate, m.shape]), [[0.5, [8]]]);
    const x = tf.randomNormal([16, 2, 2, 3], 0, 1, 'float32', 9).dataSync() as Float32Array;
    const y = tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 3), 'int32'), 3), 'float32').dataSync() as Float32Array;
    const first = (await trainer.step(x, y, 16, 0.01)).loss;
    let last = first;
    for (let i = 0; i < 60; i++) last = (await trainer.step(x, y, 16, 0.01)).loss;
    assert.ok(last < first * 0.8, `loss ${first} → ${last}`);
  });

  test('unsupported pieces are clear errors', async () => {
    const model = head('relu', 3);
    await assert.rejects(OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } }), /categorical_crossentropy needs a softmax output layer/);
    const conv = tfl.sequential({ layers: [tfl.layers.conv2d({ filters: 2, kernelSize: 1, inputShape: [2, 2, 3] }), tfl.layers.flatten(), tfl.layers.dense({ units: 1, activation: 'sigmoid' })] });
    await assert.rejects(OrtTrainer.create(conv, { loss: 'binary_crossentropy', optimizer: { name: 'sgd' } }), /does not train Conv2D layers yet/);
  });
});
