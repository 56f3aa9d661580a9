import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type * as tflTypes from '@tensorflow/tfjs-layers';
import {
  addHead,
  applications,
  baseModel,
  compareParams,
  countParams,
  freeze,
  initBackend,
  parseHeadSpec,
  summarize,
  summary,
  unfreeze,
  unfreezeFrom,
} from '../src/index.js';
import { SEED_HEAD } from './helpers.js';

let model: tflTypes.LayersModel;
const sum = (ws: tflTypes.LayerVariable[]) => ws.reduce((n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);

before(async () => {
  await initBackend();
  const base = await applications.vgg16({ weights: null, includeTop: false, inputShape: [32, 32, 3] });
  model = addHead(base, SEED_HEAD);
});

describe("the seed's model: VGG16 at 32x32 + flatten, dense 256 relu, dense 1 sigmoid", () => {
  test('structure as Keras prints it', () => {
    const s = summarize(model);
    assert.deepEqual(
      s.layers.map((l) => [l.name, l.className, l.params]),
      [
        ['vgg16', 'Functional', 14_714_688],
        ['flatten', 'Flatten', 0],
        ['dense', 'Dense', 131_328],
        ['dense_1', 'Dense', 257],
      ],
    );
  });

  test('frozen base: total 14,846,273, trainable 131,585, non-trainable 14,714,688', () => {
    unfreeze(model);
    freeze(baseModel(model));
    assert.deepEqual(countParams(model), { total: 14_846_273, trainable: 131_585, nonTrainable: 14_714_688 });
    // tfjs's own bookkeeping agrees, so training would update exactly these weights.
    assert.equal(sum(model.trainableWeights), 131_585);
  });

  test('unfreeze from block5_conv1: trainable 7,211,009 (27.51 MB), non-trainable 7,635,264 (29.13 MB)', () => {
    freeze(baseModel(model));
    unfreezeFrom(model, 'block5_conv1');
    assert.deepEqual(countParams(model), { total: 14_846_273, trainable: 7_211_009, nonTrainable: 7_635_264 });
    const text = summary(model, { showTrainable: true, expandNested: true });
    assert.match(text, /Total params: 14,846,273 \(56\.63 MB\)/);
    assert.match(text, /Trainable params: 7,211,009 \(27\.51 MB\)/);
    assert.match(text, /Non-trainable params: 7,635,264 \(29\.13 MB\)/);
    assert.match(text, /block4_conv3 \(Conv2D\)\s+│ \(None, 4, 4, 512\)\s+│\s+2,359,808 │ N/);
    assert.match(text, /block5_conv1 \(Conv2D\)\s+│ \(None, 2, 2, 512\)\s+│\s+2,359,808 │ Y/);
    assert.equal(sum(model.trainableWeights), 7_211_009);
  });

  test('counts follow the live flags (no stale list): freeze after unfreeze, then unfreeze again', () => {
    unfreezeFrom(model, 'block5_conv1');
    freeze(model);
    assert.equal(countParams(model).trainable, 0);
    unfreeze(model);
    assert.equal(countParams(model).trainable, 14_846_273);
  });

  test('an unknown layer lists the valid names', () => {
    assert.throws(() => unfreezeFrom(model, 'block9_conv1'), /no layer named 'block9_conv1'.*valid names: block1_conv1, .*block5_conv1/);
  });

  test('compareParams: the three strategies, and the model keeps its flags', () => {
    unfreeze(model);
    freeze(baseModel(model));
    const rows = compareParams(model, { unfreezeFrom: 'block5_conv1' });
    assert.deepEqual(
      rows.map((r) => [r.strategy, r.totalParams, r.trainableParams, r.nonTrainableParams]),
      [
        ['full', 14_846_273, 14_846_273, 0],
        ['feature-extraction', 14_846_273, 131_585, 14_714_688],
        ['fine-tune', 14_846_273, 7_211_009, 7_635_264],
      ],
    );
    assert.equal(countParams(model).trainable, 131_585);
  });
});

describe('head specs', () => {
  test('parse every layer kind', () => {
    assert.deepEqual(parseHeadSpec('gap, dropout:0.5, dense:10:softmax, gmp, flatten, dense:3'), [
      { type: 'gap' },
      { type: 'dropout', rate: 0.5 },
      { type: 'dense', units: 10, activation: 'softmax' },
      { type: 'gmp' },
      { type: 'flatten' },
      { type: 'dense', units: 3, activation: 'linear' },
    ]);
  });
  for (const bad of ['', 'dense', 'dense:0', 'dense:4:wiggle', 'dropout:1.5', 'conv:3', 'flatten:2']) {
    test(`rejects '${bad}' with the grammar`, () => assert.throws(() => parseHeadSpec(bad), /head spec is a comma-separated list/));
  }
  test('a feature-map base needs flatten/gap/gmp first', async () => {
    const base = await applications.vgg16({ weights: null, includeTop: false, inputShape: [32, 32, 3] });
    assert.throws(() => addHead(base, 'dense:2:softmax'), /start the head with flatten, gap or gmp/);
    const m = addHead(base, 'gap, dropout:0.2, dense:5:softmax');
    assert.deepEqual(m.outputs[0].shape, [null, 5]);
    assert.deepEqual(
      m.layers.map((l) => l.name),
      ['vgg16', 'global_average_pooling2d', 'dropout', 'dense'],
    );
  });
});
