// Every op of the training compiler, alone on small random shapes, against tfjs autograd (cpu backend): the
// gradients ORT applies (read back from one SGD step at rate 1) within 1e-4. A trainable 1x1 convolution in
// front of each op makes its input gradient count too.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { applications, initBackend } from '../src/index.js';
import { assertStepGradients } from './step-grads.js';
import { fixSameAvgPoolGradient } from './tfjs-avg-pool-grad.js';

before(async () => {
  await initBackend('cpu');
  fixSameAvgPoolGradient();
});

let seed = 1;
const init = () => tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed++ });

type Op = (x: tfl.SymbolicTensor) => tfl.SymbolicTensor;
const layer =
  (l: tfl.layers.Layer): Op =>
  (x) =>
    l.apply(x) as tfl.SymbolicTensor;

function bn(): tfl.layers.Layer {
  const l = tfl.layers.batchNormalization({
    gammaInitializer: init(),
    betaInitializer: init(),
    movingMeanInitializer: init(),
    movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: seed++ }),
  });
  return l;
}

const CASES: Array<[string, [number, number], Op]> = [];
for (const [h, w] of [
  [7, 7],
  [8, 6],
] as const) {
  for (const strides of [1, 2]) {
    for (const padding of ['same', 'valid'] as const) {
      for (const k of [1, 3]) {
        CASES.push([
          `conv2d ${k}x${k} stride ${strides} ${padding} on ${h}x${w}`,
          [h, w],
          layer(tfl.layers.conv2d({ filters: 4, kernelSize: k, strides, padding, kernelInitializer: init(), biasInitializer: init() })),
        ]);
        CASES.push([
          `depthwise ${k}x${k} stride ${strides} ${padding} on ${h}x${w}`,
          [h, w],
          layer(tfl.layers.depthwiseConv2d({ kernelSize: k, strides, padding, depthwiseInitializer: init(), biasInitializer: init() })),
        ]);
      }
    }
  }
  // Kernels larger than 3×3 run as ONNX Runtime's grouped Conv with the Conv rule's gradients.
  for (const [k, strides, padding] of [
    [5, 1, 'same'],
    [5, 2, 'valid'],
    [7, 2, 'same'],
    [7, 1, 'same'],
    [5, 1, 'valid'],
  ] as const)
    CASES.push([
      `depthwise ${k}x${k} stride ${strides} ${padding} on ${h}x${w}`,
      [h, w],
      layer(tfl.layers.depthwiseConv2d({ kernelSize: k, strides, padding, depthwiseInitializer: init(), biasInitializer: init() })),
    ]);
  CASES.push([
    `conv2d 5x5 stride 2 same on ${h}x${w}`,
    [h, w],
    layer(tfl.layers.conv2d({ filters: 2, kernelSize: 5, strides: 2, padding: 'same', kernelInitializer: init() })),
  ]);
  CASES.push([
    `zero padding (1,2),(0,1) on ${h}x${w}`,
    [h, w],
    layer(
      tfl.layers.zeroPadding2d({
        padding: [
          [1, 2],
          [0, 1],
        ],
      }),
    ),
  ]);
  CASES.push([`batch normalization (inference mode) on ${h}x${w}`, [h, w], layer(bn())]);
  CASES.push([`global average pooling on ${h}x${w}`, [h, w], layer(tfl.layers.globalAveragePooling2d({}))]);
}
CASES.push(['max pooling 2x2', [8, 6], layer(tfl.layers.maxPooling2d({ poolSize: 2 }))]);
CASES.push(['average pooling 2x2', [8, 6], layer(tfl.layers.averagePooling2d({ poolSize: 2 }))]);
for (const activation of ['relu', 'sigmoid', 'tanh', 'swish', 'softmax'] as const)
  CASES.push([`activation ${activation}`, [4, 4], layer(tfl.layers.activation({ activation }))]);
CASES.push(['ReLU capped at 6', [4, 4], layer(tfl.layers.reLU({ maxValue: 6 }))]);
CASES.push([
  'dense with relu on a flattened map',
  [3, 3],
  (x) =>
    tfl.layers
      .dense({ units: 5, activation: 'relu', kernelInitializer: init(), biasInitializer: init() })
      .apply(tfl.layers.flatten().apply(x)) as tfl.SymbolicTensor,
]);
CASES.push([
  'add of two branches',
  [4, 4],
  (x) =>
    tfl.layers
      .add()
      .apply([
        x,
        tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: init() }).apply(x) as tfl.SymbolicTensor,
      ]) as tfl.SymbolicTensor,
]);
CASES.push([
  'multiply of two branches',
  [4, 4],
  (x) => tfl.layers.multiply().apply([x, tfl.layers.activation({ activation: 'sigmoid' }).apply(x) as tfl.SymbolicTensor]) as tfl.SymbolicTensor,
]);
CASES.push([
  'concatenate along channels',
  [4, 4],
  (x) =>
    tfl.layers
      .concatenate()
      .apply([x, tfl.layers.conv2d({ filters: 2, kernelSize: 1, kernelInitializer: init() }).apply(x) as tfl.SymbolicTensor]) as tfl.SymbolicTensor,
]);
// NASNet's: overlapping max pooling windows, cropping.
CASES.push(['max pooling 3x3 stride 2 (overlapping windows)', [7, 8], layer(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid' }))]);
CASES.push([
  'cropping (1,0),(1,2)',
  [6, 7],
  layer(
    tfl.layers.cropping2D({
      cropping: [
        [1, 0],
        [1, 2],
      ],
    }),
  ),
]);
// Patchify (kernel = stride, ConvNeXt's downsampling): dX is one Gemm and a depth-to-space Transpose.
CASES.push([
  'conv2d 2x2 stride 2 valid on 8x6 (patchify)',
  [8, 6],
  layer(tfl.layers.conv2d({ filters: 4, kernelSize: 2, strides: 2, padding: 'valid', kernelInitializer: init(), biasInitializer: init() })),
]);
CASES.push(['average pooling 3x3 stride 2 valid', [7, 7], layer(tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'valid' }))]);
CASES.push([
  'separable 7x7 stride 2 valid',
  [9, 9],
  layer(tfl.layers.separableConv2d({ filters: 4, kernelSize: 7, strides: 2, padding: 'valid', depthwiseInitializer: init(), pointwiseInitializer: init() })),
]);
// 'Same' average pooling (NASNet's, Inception's) against tfjs autograd with its border gradient corrected (see
// test/tfjs-avg-pool-grad.ts; the correction is checked against finite differences below). NASNet's factorised
// reduction: 1×1 average pooling at stride 2.
for (const [h, w] of [
  [4, 4],
  [5, 6],
] as const)
  CASES.push([`average pooling 3x3 stride 1 same on ${h}x${w}`, [h, w], layer(tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }))]);
CASES.push(['average pooling 1x1 stride 2 valid', [7, 7], layer(tfl.layers.averagePooling2d({ poolSize: 1, strides: 2, padding: 'valid' }))]);
// ConvNeXt's primitives: LayerNormalization over the channels (of a map and of a pooled vector), exact GELU,
// LayerScale, Dense on the channels of a map.
const layerNorm = () => tfl.layers.layerNormalization({ epsilon: 1e-6, gammaInitializer: init(), betaInitializer: init() });
CASES.push(['layer normalization over the channels of a map', [4, 5], layer(layerNorm())]);
CASES.push(['layer normalization of a pooled vector', [4, 4], (x) => layerNorm().apply(tfl.layers.globalAveragePooling2d({}).apply(x)) as tfl.SymbolicTensor]);
CASES.push(['activation gelu (exact, erf)', [4, 4], layer(tfl.layers.activation({ activation: 'gelu' }))]);
CASES.push([
  'layer scale',
  [4, 4],
  (x) => {
    const l = new applications.LayerScale({ initValues: 0.5, projectionDim: 3 });
    const y = l.apply(x) as tfl.SymbolicTensor;
    l.setWeights([tf.tensor1d([0.7, -1.3, 0.4])]);
    return y;
  },
]);
CASES.push([
  'dense on the channels of a map',
  [3, 4],
  layer(tfl.layers.dense({ units: 5, activation: 'relu', kernelInitializer: init(), biasInitializer: init() })),
]);

describe("each op's gradient in the compiled training step matches tfjs autograd", () => {
  for (const [name, [h, w], op] of CASES) {
    test(name, async () => {
      const input = tfl.input({ shape: [h, w, 3] });
      const pre = tfl.layers.conv2d({ filters: 3, kernelSize: 1, kernelInitializer: init(), biasInitializer: init(), name: 'pre' });
      let y = op(pre.apply(input) as tfl.SymbolicTensor);
      if (y.shape.length > 2) y = tfl.layers.flatten().apply(y) as tfl.SymbolicTensor;
      const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(), name: 'out' }).apply(y) as tfl.SymbolicTensor;
      const model = tfl.model({ inputs: input, outputs: out });
      const x = tf.randomNormal([3, h, w, 3], 0, 1, 'float32', seed++);
      await assertStepGradients(model, x);
    });
  }
});

test("the corrected gradient of 'same' average pooling matches finite differences (the reference above)", () => {
  for (const [h, w, k] of [
    [4, 4, 3],
    [5, 6, 3],
    [6, 5, 5],
  ]) {
    const x = tf.randomNormal([1, h, w, 2], 0, 1, 'float32', seed++);
    const r = tf.randomNormal([1, h, w, 2], 0, 1, 'float32', seed++);
    // The loss is linear in x, so central differences are exact up to float32 rounding.
    const loss = (v: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(v as tf.Tensor4D, k, 1, 'same'), r));
    const grad = tf.grad(loss)(x).dataSync();
    const base = x.dataSync();
    const eps = 0.5;
    for (let i = 0; i < base.length; i++) {
      const at = (d: number) => {
        const v = base.slice();
        v[i] += d;
        return loss(tf.tensor4d(v, [1, h, w, 2])).dataSync()[0];
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      assert.ok(Math.abs(numeric - grad[i]) <= 1e-4, `${h}x${w} window ${k}, element ${i}: autograd ${grad[i]} vs finite differences ${numeric}`);
    }
  }
});
