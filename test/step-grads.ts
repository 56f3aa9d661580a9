// The gradients a compiled training step applies, read back from one SGD step at rate 1 on a 3-class softmax
// model, against tfjs autograd of the same loss: every trainable weight within 1e-4.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { OrtTrainer } from '../src/engine/ort-trainer.js';

/** `model` ends in a 3-unit softmax; `x` is a batch of 3. */
export async function assertStepGradients(model: tfl.LayersModel, x: tf.Tensor): Promise<void> {
  const target = tf.tensor2d([
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
  const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => tf.neg(tf.mean(tf.sum(tf.mul(target, tf.log(model.apply(x) as tf.Tensor)), -1))) as tf.Scalar, vars);
  const before = vars.map((v) => v.dataSync().slice());
  const trainer = await OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } });
  await trainer.step(x.dataSync() as Float32Array, target.dataSync() as Float32Array, 3, 1);
  trainer.writeBack();
  await trainer.dispose();
  vars.forEach((v, i) => {
    const after = v.dataSync();
    const g = grads[v.name].dataSync();
    let worst = 0;
    for (let k = 0; k < g.length; k++) worst = Math.max(worst, Math.abs(before[i][k] - after[k] - g[k]));
    assert.ok(worst <= 1e-4, `${v.name}: max abs gradient error ${worst}`);
  });
}
