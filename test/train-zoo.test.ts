import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tflTypes from '@tensorflow/tfjs-layers';
import { addHead, applications, initBackend, unfreezeFrom } from '../src/index.js';
import { walkModel } from '../src/engine/onnx/walk.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { fixSameAvgPoolGradient } from './tfjs-avg-pool-grad.js';
import { seedWeights } from './seed-weights.js';

before(async () => {
  await initBackend('cpu');
  fixSameAvgPoolGradient();
});

/** Runs a model on concrete tensors, from the input of layer `from` (fed `features`) to the output. */
function suffixForward(model: tflTypes.LayersModel, from: string, features: tf.Tensor): tf.Tensor {
  let start: number | undefined;
  let n = 0;
  walkModel<number>(model, [0], (layer, inputs, call) => {
    if (layer.name === from) start = inputs[0];
    return call.outputs.map(() => ++n);
  });
  n = 0;
  const [out] = walkModel<{ id: number; v: tf.Tensor | null }>(model, [{ id: 0, v: null }], (layer, inputs, call) => {
    const ids = call.outputs.map(() => ++n);
    const xs = inputs.map((i) => (i.id === start ? features : i.v));
    if (xs.some((x) => x === null)) return ids.map((id) => ({ id, v: null }));
    const y = layer.apply(xs.length === 1 ? (xs[0] as tf.Tensor) : (xs as tf.Tensor[])) as tf.Tensor;
    return ids.map((id) => ({ id, v: y }));
  });
  return out.v as tf.Tensor;
}

/**
 * tfjs cannot differentiate BatchNormalization with scale=false (Inception's): its kernel saves an undefined scale.
 * (Its average-pooling gradient with 'same' padding, NASNet's 3×3/1, is corrected for this file: see
 * test/tfjs-avg-pool-grad.ts. NASNet was checked by finite differences before; at a step of 1e-2 they cross ReLU
 * and max-pooling kinks, and with unseeded initial weights they missed ORT's gradient by ~10% in some runs.)
 */
const TFJS_AUTOGRAD_FAILS = new Set(['inception_v3', 'inception_resnet_v2']);

/**
 * Models whose BatchNorms keep their initial statistics here: with random ones EfficientNetV2's residual stream
 * grows block after block (~1e3 at the top) and float32 rounding differences grow with it (measured ORT vs
 * tfjs: 4e-7 at block2, 1e-4 at the top), more than the 1e-4 loss check allows. The BatchNorm gradient itself
 * is checked with random statistics in the other models.
 */
const KEEP_BATCHNORM = new Set(['efficientnet_v2_b0']);

const ZOO: Array<[string, number, string]> = [
  ['resnet50', 32, 'conv5_block1_1_conv'],
  ['resnet50v2', 32, 'conv5_block1_preact_bn'],
  ['inception_v3', 75, 'mixed9'],
  ['xception', 71, 'block14_sepconv1'],
  ['mobilenet', 32, 'conv_dw_13'],
  ['mobilenet_v2', 32, 'block_16_expand'],
  ['efficientnet_b0', 32, 'block7a_expand_conv'],
  ['resnet101v2', 32, 'conv5_block3_preact_bn'],
  // DenseNet's concatenations and transitions (BN → ReLU → conv → average pooling) inside the trained part.
  ['densenet121', 32, 'pool4_bn'],
  ['efficientnet_b2', 32, 'block7a_expand_conv'],
  ['efficientnet_v2_b0', 32, 'block6h_expand_conv'],
  // Hard-swish, hard-sigmoid (Rescaling → ReLU(6) → Rescaling) gates and 5×5 depthwise convolutions.
  ['mobilenet_v3_large', 32, 'expanded_conv_12_expand'],
  // The scaled residual sums (CustomScaleLayer), 1×3 and 3×1 kernels.
  ['inception_resnet_v2', 75, 'block8_9_mixed'],
  ['mobilenet_v3_small', 32, 'conv'],
  // Fused-MBConv blocks (full 3×3 convolutions, with and without expansion) and the 'same'-padded strided stem.
  ['efficientnet_v2_b0', 32, 'stem_conv'],
  // Whole models: strided and depthwise convolutions, correct_pad padding, squeeze-excite, inside the trained part.
  ['mobilenet_v2', 32, 'Conv1'],
  ['efficientnet_b0', 32, 'stem_conv_pad'],
  // ConvNeXt: LayerNormalization (feature maps and pooled), strided 2×2 conv, depthwise 7×7 with bias, Dense on
  // feature maps, GELU, LayerScale, residual sums; at 64×64 the last stage is 2×2.
  ['convnext_tiny', 64, 'convnext_tiny_downsampling_layernorm_2'],
  ['convnext_tiny', 32, 'convnext_tiny_stem_conv'],
  // NASNet: every cell takes the two previous cells' outputs, so no cut inside the model has a single input; the
  // whole model trains (separable stacks, Cropping2D, overlapping 3×3/2 max pooling, 'same' average pooling).
  ['nasnet_mobile', 32, 'stem_conv1'],
  // VGG16's block 5 at 32×32: 3×3 convolutions over 2×2 maps (conv-small.ts).
  ['vgg16', 32, 'block5_conv1'],
];

describe("one training step of each zoo model's trainable suffix matches tfjs autograd", () => {
  for (const [id, size, cut] of ZOO) {
    test(`${id} from ${cut}`, async () => {
      // (Cases of the same model differ by cut point.)
      const base = await applications.getApplication(id).build({ weights: null, includeTop: false, inputShape: [size, size, 3] });
      seedWeights(base);
      for (const l of base.layers) {
        // ConvNeXt's LayerScale starts at 1e-6, which would hide every residual branch's gradient.
        if ((l.getClassName() === 'BatchNormalization' && !KEEP_BATCHNORM.has(id)) || ['LayerNormalization', 'LayerScale'].includes(l.getClassName()))
          l.setWeights(l.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, 'float32', i)));
      }
      const model = addHead(base, 'gap, dense:3:softmax');
      // The head is drawn too: unseeded, MobileNetV2's gradients at block_10 changed from run to run (largest 8e-6 to
      // 3e-5) and one CI run missed the tolerance there (1.4e-6 against 1e-6); seeded, every run is the same case.
      for (const l of model.layers.filter((l) => l.getClassName() === 'Dense' && !base.layers.includes(l)))
        l.setWeights(
          l.getWeights().map((w, i) => {
            const s = i === 0 ? Math.sqrt(6 / (w.shape[0] + (w.shape[1] ?? 0))) : 0;
            return tf.randomUniform(w.shape, -s, s, 'float32', 7 + i);
          }),
        );
      // EfficientNet's drop-connect layers would draw random masks in the step; the reference runs without them.
      for (const l of base.layers) if (l.getClassName() === 'Dropout') (l as unknown as { rate: number }).rate = 0;
      // Inception's cut point is a block: unfreeze from its first layer (the concatenation closes the previous one).
      const from =
        id === 'inception_v3'
          ? base.layers[base.layers.findIndex((l) => l.name === 'mixed8') + 1].name
          : id === 'inception_resnet_v2'
            ? base.layers[base.layers.findIndex((l) => l.name === 'block8_8_ac') + 1].name
            : cut;
      unfreezeFrom(model, from);
      const prefixLayer = base.getLayer(from);
      const prefix = (await import('@tensorflow/tfjs-layers')).model({ inputs: base.inputs, outputs: prefixLayer.input as tflTypes.SymbolicTensor });
      const features = prefix.predict(tf.randomUniform([2, size, size, 3], -1, 1, 'float32', 3)) as tf.Tensor;
      const y = tf.tensor2d([
        [1, 0, 0],
        [0, 0, 1],
      ]);
      const trainable = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const before = trainable.map((v) => v.dataSync().slice());
      // A large step so that the gradient read back from the update keeps float32 precision.
      const lr = 1;
      const lossOf = () => tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(suffixForward(model, from, features))), -1))) as tf.Scalar);
      const trainer = await OrtTrainer.create(model, { from, loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } });
      assert.equal(trainer.graph.params.length, trainable.length, 'every trainable weight is a graph input');
      const { loss } = await trainer.step(features.dataSync() as Float32Array, y.dataSync() as Float32Array, 2, lr);
      assert.ok(Math.abs(loss - lossOf().dataSync()[0]) < 1e-4, `loss ${loss} vs ${lossOf().dataSync()[0]}`);
      trainer.writeBack();
      const after = trainable.map((v) => v.dataSync().slice());
      // ORT's gradient, read back from the SGD update.
      const ortGrad = (i: number, k: number) => (before[i][k] - after[i][k]) / lr;
      if (TFJS_AUTOGRAD_FAILS.has(id)) {
        // Central differences of the loss (tfjs forward only) at a few weights of different kinds.
        trainable.forEach((v) => v.assign(tf.tensor(before[trainable.indexOf(v)], v.shape)));
        for (const i of [0, 1, Math.floor(trainable.length / 2), trainable.length - 2]) {
          const k = Math.floor(before[i].length / 3);
          const eps = 1e-2;
          const at = (delta: number) => {
            const w = before[i].slice();
            w[k] += delta;
            trainable[i].assign(tf.tensor(w, trainable[i].shape));
            return lossOf().dataSync()[0];
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          trainable[i].assign(tf.tensor(before[i], trainable[i].shape));
          assert.ok(
            Math.abs(numeric - ortGrad(i, k)) <= 2e-3 + 2e-2 * Math.abs(numeric),
            `${trainable[i].name}[${k}]: ORT ${ortGrad(i, k)} vs finite differences ${numeric}`,
          );
        }
      } else {
        trainable.forEach((v, i) => v.assign(tf.tensor(before[i], v.shape)));
        const { grads } = tf.variableGrads(lossOf, trainable);
        trainable.forEach((v, i) => {
          const g = grads[v.name].dataSync();
          let err = 0;
          let ref = 1e-12;
          for (let k = 0; k < g.length; k++) {
            err = Math.max(err, Math.abs(ortGrad(i, k) - g[k]));
            ref = Math.max(ref, Math.abs(g[k]));
          }
          assert.ok(err <= 1e-6 + 2e-3 * ref, `${v.name}: max gradient error ${err} (largest gradient ${ref})`);
        });
      }
      await trainer.dispose();
    });
  }
});
