// Every entry of the ONNX compiler's Keras-layer table and activation table, enumerated: each class and each
// activation has cases here (and every case an entry), each case's inference graph agrees with tfjs's predict,
// each class that trains gets its gradients from the compiled training step checked against tfjs autograd (one
// SGD step at rate 1, a trainable 1×1 convolution in front so the input gradient counts), and each class that
// does not train is refused at build time naming the layer and its class. The table must also cover every layer
// class and activation the applications (src/applications/) build with.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { applications, initBackend } from '../src/index.js';
import { NeighbourVote, UnitNormalization } from '../src/applications/layers.js';
import { TransferkitError } from '../src/errors.js';
import { ACTIVATIONS, KERAS_LAYERS } from '../src/engine/onnx/keras-layers/index.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { createPredictor } from '../src/engine/predictor.js';
import { ROOT } from './helpers.js';
import { assertStepGradients } from './step-grads.js';
import { fixSameAvgPoolGradient } from './tfjs-avg-pool-grad.js';

before(async () => {
  await initBackend('cpu');
  // tfjs's gradient of 'same' average pooling is wrong at the borders (see the file).
  fixSameAvgPoolGradient();
});

let seed = 1;
const init = () => tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed++ });
type Sym = tfl.SymbolicTensor;
const apply = (l: tfl.layers.Layer, x: Sym | Sym[]) => l.apply(x) as Sym;

/**
 * A case: the layer under test applied to `x`, a value of `input` kind: a [6, 6, 3] feature map, a [12] vector
 * or a [6, 3] sequence. Layers that join values get a second branch (a convolution of x).
 */
interface Case {
  name: string;
  input?: 'map' | 'flat' | 'seq';
  build(x: Sym): Sym;
}

const branch = (x: Sym) => apply(tfl.layers.conv2d({ filters: 3, kernelSize: 1, kernelInitializer: init(), biasInitializer: init() }), x);
const one = (name: string, make: () => tfl.layers.Layer, input: Case['input'] = 'map'): Case => ({ name, input, build: (x) => apply(make(), x) });
const bn = () =>
  tfl.layers.batchNormalization({
    gammaInitializer: init(),
    betaInitializer: init(),
    movingMeanInitializer: init(),
    movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: seed++ }),
  });
type ConvArgs = Parameters<typeof tfl.layers.conv2d>[0];
const conv = (args: Partial<ConvArgs>) => () =>
  tfl.layers.conv2d({ filters: 4, kernelSize: 3, kernelInitializer: init(), biasInitializer: init(), ...args } as ConvArgs);

/** Per class, its cases: the keys must be exactly the table's. */
const CASES: Record<string, Case[]> = {
  Conv2D: [
    one('3x3 same, relu', conv({ padding: 'same', activation: 'relu' })),
    one('3x3 stride 2 valid', conv({ strides: 2, padding: 'valid' })),
    {
      // 2×3 and 1×2 maps, fewer pixels than taps (conv-small.ts in training), windows overhanging some pixels.
      name: '3x3 same and 3x3 stride 2 same over fewer pixels than taps',
      build: (x) => apply(conv({ strides: 2, padding: 'same' })(), apply(conv({ padding: 'same' })(), apply(conv({ kernelSize: [3, 2], strides: 2 })(), x))),
    },
    {
      // EfficientNet's block: in training the expanded part is channels first (keras-layers/channels-first.ts) from
      // the expand convolution's output to the project convolution's input, squeeze-excite's pooling and scaling too.
      name: 'inverted residual: 1x1 expand, BN, swish, 3x3 depthwise, BN, swish, squeeze-excite, 1x1 project, BN',
      build: (x) => {
        const swish = () => tfl.layers.activation({ activation: 'swish' });
        const expanded = apply(swish(), apply(bn(), apply(conv({ filters: 8, kernelSize: 1, useBias: false })(), x)));
        const depthwise = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init() });
        const mixed = apply(swish(), apply(bn(), apply(depthwise, expanded)));
        const squeezed = apply(tfl.layers.reshape({ targetShape: [1, 1, 8] }), apply(tfl.layers.globalAveragePooling2d({}), mixed));
        const scales = apply(
          conv({ filters: 8, kernelSize: 1, activation: 'sigmoid' })(),
          apply(conv({ filters: 2, kernelSize: 1, activation: 'swish' })(), squeezed),
        );
        return apply(bn(), apply(conv({ filters: 3, kernelSize: 1, useBias: false })(), apply(tfl.layers.multiply(), [mixed, scales])));
      },
    },
    {
      // MobileNetV2's block with a stride-2 depthwise convolution, then a global max pool of the channels-first map.
      name: 'inverted residual: 1x1 expand with bias, BN, ReLU6, 3x3 stride 2 depthwise, BN, ReLU6, global max pool',
      build: (x) => {
        const relu6 = () => tfl.layers.reLU({ maxValue: 6 });
        const expanded = apply(relu6(), apply(bn(), apply(conv({ filters: 6, kernelSize: 1 })(), x)));
        const depthwise = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthwiseInitializer: init(), biasInitializer: init() });
        return apply(tfl.layers.globalMaxPooling2d({}), apply(relu6(), apply(bn(), apply(depthwise, expanded))));
      },
    },
  ],
  DepthwiseConv2D: [
    one('3x3 same', () => tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(), biasInitializer: init() })),
    one('5x5 stride 2 same', () =>
      tfl.layers.depthwiseConv2d({ kernelSize: 5, strides: 2, padding: 'same', depthwiseInitializer: init(), biasInitializer: init() }),
    ),
    {
      // The BatchNormalization after a linear depthwise convolution is folded into it in training (its γ and β
      // then get their gradients from the convolution's backward): without and with the convolution's bias.
      name: '3x3 same without bias, then BatchNormalization; 3x3 stride 2 with bias, then BatchNormalization',
      build: (x) => {
        const first = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init() });
        const second = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthwiseInitializer: init(), biasInitializer: init() });
        return apply(bn(), apply(second, apply(bn(), apply(first, x))));
      },
    },
  ],
  SeparableConv2D: [
    one('3x3 same', () =>
      tfl.layers.separableConv2d({
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        depthwiseInitializer: init(),
        pointwiseInitializer: init(),
        biasInitializer: init(),
      }),
    ),
  ],
  Dense: [
    one('on a vector, sigmoid', () => tfl.layers.dense({ units: 5, activation: 'sigmoid', kernelInitializer: init(), biasInitializer: init() }), 'flat'),
    one('on the channels of a map', () => tfl.layers.dense({ units: 5, kernelInitializer: init(), biasInitializer: init() })),
  ],
  BatchNormalization: [one('moving statistics', bn)],
  LayerNormalization: [one('over the channels', () => tfl.layers.layerNormalization({ epsilon: 1e-6, gammaInitializer: init(), betaInitializer: init() }))],
  LayerScale: [
    {
      name: 'per channel',
      build: (x) => {
        const l = new applications.LayerScale({ initValues: 0.5, projectionDim: 3 });
        const y = apply(l, x);
        l.setWeights([tf.tensor1d([0.7, -1.3, 0.4])]);
        return y;
      },
    },
  ],
  Activation: [one('tanh', () => tfl.layers.activation({ activation: 'tanh' }))],
  ReLU: [
    one('uncapped', () => tfl.layers.reLU()),
    one('capped at 6', () => tfl.layers.reLU({ maxValue: 6 })),
    // Values past both ends of the clip, so that the gradient's cut at 6 is checked too.
    { name: 'capped at 6, inputs scaled by 8', build: (x) => apply(tfl.layers.reLU({ maxValue: 6 }), apply(new applications.Rescaling({ scale: 8 }), x)) },
  ],
  MaxPooling2D: [
    one('2x2', () => tfl.layers.maxPooling2d({ poolSize: 2 })),
    one('3x3 stride 2 (overlapping windows)', () => tfl.layers.maxPooling2d({ poolSize: 3, strides: 2 })),
  ],
  AveragePooling2D: [
    one('2x2', () => tfl.layers.averagePooling2d({ poolSize: 2 })),
    one('3x3 stride 1 same', () => tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' })),
  ],
  GlobalAveragePooling2D: [one('to [N, C]', () => tfl.layers.globalAveragePooling2d({}))],
  GlobalMaxPooling2D: [one('to [N, C]', () => tfl.layers.globalMaxPooling2d({}))],
  ZeroPadding2D: [
    one('(1,2),(0,1)', () =>
      tfl.layers.zeroPadding2d({
        padding: [
          [1, 2],
          [0, 1],
        ],
      }),
    ),
  ],
  Cropping2D: [
    one('(1,0),(1,2)', () =>
      tfl.layers.cropping2D({
        cropping: [
          [1, 0],
          [1, 2],
        ],
      }),
    ),
  ],
  Add: [{ name: 'two branches', build: (x) => apply(tfl.layers.add(), [x, branch(x)]) }],
  Multiply: [{ name: 'two branches', build: (x) => apply(tfl.layers.multiply(), [x, branch(x)]) }],
  Concatenate: [{ name: 'along the channels', build: (x) => apply(tfl.layers.concatenate(), [x, branch(x)]) }],
  CustomScaleLayer: [{ name: 'scaled residual', build: (x) => apply(new applications.CustomScaleLayer({ scale: 0.3 }), [x, branch(x)]) }],
  Flatten: [one('a map', () => tfl.layers.flatten())],
  Reshape: [one('a map to a sequence', () => tfl.layers.reshape({ targetShape: [18, 6] }))],
  Dropout: [one('rate 0 (the mask is all ones)', () => tfl.layers.dropout({ rate: 0 }))],
  SpatialDropout1D: [one('rate 0 on a sequence', () => tfl.layers.spatialDropout1d({ rate: 0 }), 'seq')],
  GaussianNoise: [one('identity at inference', () => tfl.layers.gaussianNoise({ stddev: 0.1 }))],
  GaussianDropout: [one('identity at inference', () => tfl.layers.gaussianDropout({ rate: 0.1 }))],
  AlphaDropout: [one('identity at inference', () => tfl.layers.alphaDropout({ rate: 0.1 }))],
  Rescaling: [
    one('one factor and offset', () => new applications.Rescaling({ scale: 1 / 127.5, offset: -1 })),
    one('per channel', () => new applications.Rescaling({ scale: [0.5, 2, -1] })),
  ],
  Normalization: [
    one('fixed statistics', () => new applications.Normalization({ mean: [0.1, -0.2, 0.3], variance: [0.5, 2, 1.5] })),
    {
      name: 'adapted statistics (weights)',
      build: (x) => {
        const l = new applications.Normalization();
        const y = apply(l, x);
        l.setWeights([tf.tensor([0.2, -0.1, 0.4], [1, 1, 3]), tf.tensor([0.8, 1.7, 0.3], [1, 1, 3]), tf.scalar(10)]);
        return y;
      },
    },
  ],
  UnitNormalization: [one('of vectors', () => new UnitNormalization(), 'flat')],
  NeighbourVote: [one('3 nearest of 12', () => new NeighbourVote({ k: 3, labels: [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 1], classes: 3 }), 'flat')],
};

/** Activation names tfjs knows by another spelling: the table holds both, as one rule. */
const ALIASES: Record<string, string> = { hard_sigmoid: 'hardSigmoid', hard_swish: 'hardSwish' };

const SHAPES = { map: [6, 6, 3], flat: [12], seq: [6, 3] };

/** A model of the case alone: its input is of the case's kind. */
function alone(c: Case): tfl.LayersModel {
  const input = tfl.input({ shape: SHAPES[c.input ?? 'map'] });
  return tfl.model({ inputs: input, outputs: c.build(input) });
}

/** [2, 6, 3] maps → a trainable 1×1 convolution → a value of the case's kind → the case → flatten → Dense softmax. */
function trainable(c: Case): tfl.LayersModel {
  const input = tfl.input({ shape: [2, 6, 3] });
  let x = apply(tfl.layers.conv2d({ filters: 3, kernelSize: 1, kernelInitializer: init(), biasInitializer: init(), name: 'pre' }), input);
  if (c.input === 'flat') x = apply(tfl.layers.dense({ units: 12, kernelInitializer: init() }), apply(tfl.layers.flatten(), x));
  if (c.input === 'seq') x = apply(tfl.layers.reshape({ targetShape: [4, 9] }), x);
  // Padded to 6×6, which 2×2 pooling tiles (its reshape path; 3×3/2 takes the gathering one).
  if (c.input === undefined || c.input === 'map') x = apply(tfl.layers.zeroPadding2d({ padding: [2, 0] }), x);
  let y = c.build(x);
  if (y.shape.length > 2) y = apply(tfl.layers.flatten(), y);
  const out = apply(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(), name: 'out' }), y);
  return tfl.model({ inputs: input, outputs: out });
}

async function checkForward(model: tfl.LayersModel): Promise<void> {
  const n = 2;
  const shape = [n, ...(model.inputs[0].shape.slice(1) as number[])];
  const x = tf.randomNormal(shape, 0, 1, 'float32', seed++);
  const ort = await createPredictor(model, { engine: 'ort' });
  const a = await ort.predict(x.dataSync() as Float32Array, n);
  await ort.dispose();
  const b = (model.predict(x) as tf.Tensor).dataSync();
  assert.equal(a.length, b.length);
  let err = 0;
  let ref = 1e-6;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    ref = Math.max(ref, Math.abs(b[i]));
  }
  assert.ok(err / ref <= 1e-5, `ONNX Runtime against tfjs: relative error ${err / ref}`);
}

const checkGradients = (model: tfl.LayersModel) => assertStepGradients(model, tf.randomNormal([3, 2, 6, 3], 0, 1, 'float32', seed++));

describe('the Keras-layer table', () => {
  test('has cases here for exactly its classes and activations', () => {
    assert.deepEqual(Object.keys(CASES).sort(), Object.keys(KERAS_LAYERS).sort());
    for (const [alias, name] of Object.entries(ALIASES)) assert.equal(ACTIVATIONS[alias], ACTIVATIONS[name], `${alias} is ${name}`);
    assert.ok(Object.keys(ACTIVATIONS).length >= 17);
  });

  test('covers every layer class and activation the applications build with, and trains each such class', () => {
    const dir = path.join(ROOT, 'src/applications');
    const source = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    const byLower = new Map(Object.keys(KERAS_LAYERS).map((k) => [k.toLowerCase(), k]));
    const factories = [...source.matchAll(/tfl\.layers\.([a-z]\w*)\(/g)].map((m) => m[1]);
    const own = [...readFileSync(path.join(dir, 'layers.ts'), 'utf8').matchAll(/export class (\w+) extends tfl\.layers\.Layer/g)].map((m) => m[1]);
    assert.ok(factories.length > 20 && own.length >= 5, 'the applications build with layers');
    for (const f of new Set(factories)) {
      const cls = byLower.get(f.toLowerCase());
      assert.ok(cls, `tfl.layers.${f} (used by an application) has no entry in the table`);
      assert.ok(KERAS_LAYERS[cls].train, `${cls} (used by an application) does not train`);
    }
    for (const cls of own) assert.ok(KERAS_LAYERS[cls], `${cls} (src/applications/layers.ts) has no entry in the table`);
    const activations = new Set([...source.matchAll(/activation: '(\w+)'/g)].map((m) => m[1]));
    activations.add('softmax');
    for (const a of activations) assert.ok(ACTIVATIONS[a], `activation '${a}' (used by an application) has no entry`);
  });
});

describe('each layer class of the table', () => {
  for (const [cls, cases] of Object.entries(CASES)) {
    for (const c of cases) {
      test(`${cls} ${c.name}: inference graph against tfjs`, async () => {
        const model = alone(c);
        assert.ok(
          model.layers.some((l) => l.getClassName() === cls),
          `the case builds a ${cls}`,
        );
        await checkForward(model);
      });
      const rule = KERAS_LAYERS[cls];
      if (rule?.train) {
        test(`${cls} ${c.name}: training gradients against tfjs autograd`, async () => checkGradients(trainable(c)));
      } else {
        test(`${cls} ${c.name}: refused by the training compiler at build time, naming the layer and class`, async () => {
          const model = trainable(c);
          const layer = model.layers.find((l) => l.getClassName() === cls) as tfl.layers.Layer;
          await assert.rejects(
            OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } }),
            (err: Error) => err instanceof TransferkitError && err.message.includes(`${layer.name} (${cls})`),
          );
        });
      }
    }
  }
});

describe('each activation of the table', () => {
  for (const name of Object.keys(ACTIVATIONS)) {
    if (ALIASES[name]) continue;
    const c = one(name, () => tfl.layers.activation({ activation: name as 'linear' }));
    test(`${name}: inference graph against tfjs`, async () => checkForward(alone(c)));
    test(`${name}: training gradients against tfjs autograd`, async () => checkGradients(trainable(c)));
  }
});
