import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tflTypes from '@tensorflow/tfjs-layers';
import { addHead, applications, countParams, initBackend, loadWeights, modelBlocks, saveWeights, unfreezeFrom } from '../src/index.js';
import { cli, tempDir } from './helpers.js';

before(async () => {
  await initBackend();
});

interface Expect {
  id: string;
  withTop: number;
  min: number;
  /** Output of the headless model at its minimum input size. */
  minOutput: number[];
  features: number;
  preprocessing: string;
  cut: string;
}

const ZOO: Expect[] = [
  { id: 'vgg16', withTop: 138_357_544, min: 32, minOutput: [1, 1, 512], features: 512, preprocessing: 'caffe', cut: 'block5_conv1' },
  { id: 'vgg19', withTop: 143_667_240, min: 32, minOutput: [1, 1, 512], features: 512, preprocessing: 'caffe', cut: 'block5_conv1' },
  { id: 'resnet50', withTop: 25_636_712, min: 32, minOutput: [1, 1, 2048], features: 2048, preprocessing: 'caffe', cut: 'conv5_block1_1_conv' },
  { id: 'resnet50v2', withTop: 25_613_800, min: 32, minOutput: [1, 1, 2048], features: 2048, preprocessing: 'tf', cut: 'conv5_block1_1_conv' },
  { id: 'inception_v3', withTop: 23_851_784, min: 75, minOutput: [1, 1, 2048], features: 2048, preprocessing: 'tf', cut: 'mixed9' },
  { id: 'xception', withTop: 22_910_480, min: 71, minOutput: [3, 3, 2048], features: 2048, preprocessing: 'tf', cut: 'block14_sepconv1' },
  { id: 'mobilenet', withTop: 4_253_864, min: 32, minOutput: [1, 1, 1024], features: 1024, preprocessing: 'tf', cut: 'conv_dw_13' },
  { id: 'mobilenet_v2', withTop: 3_538_984, min: 32, minOutput: [1, 1, 1280], features: 1280, preprocessing: 'tf', cut: 'block_16_expand' },
  { id: 'efficientnet_b0', withTop: 5_330_571, min: 32, minOutput: [1, 1, 1280], features: 1280, preprocessing: 'none', cut: 'block7a_expand_conv' },
];

const build = (id: string, args: applications.ApplicationArgs) => applications.getApplication(id).build({ weights: null, ...args });
const values = (m: tflTypes.LayersModel) => m.weights.map((w) => w.read().dataSync() as Float32Array);

describe('the model zoo, Keras-exact', () => {
  for (const z of ZOO) {
    describe(z.id, () => {
      test(`with top at its default input: ${z.withTop.toLocaleString('en')} params`, async () => {
        const m = await build(z.id, {});
        assert.equal(countParams(m).total, z.withTop);
        assert.equal(applications.preprocessingOf(m), z.preprocessing);
        assert.equal(m.getLayer('predictions').getConfig().activation, 'softmax');
        m.dispose();
      });

      test(`no top at the minimum ${z.min}x${z.min}: output (None, ${z.minOutput.join(', ')}) and a finite forward pass; below it fails`, async () => {
        const m = await build(z.id, { includeTop: false, inputShape: [z.min, z.min, 3] });
        assert.deepEqual(m.outputs[0].shape, [null, ...z.minOutput]);
        const y = m.predict(tf.randomUniform([2, z.min, z.min, 3], 0, 1, 'float32', 1)) as tf.Tensor;
        assert.deepEqual(y.shape, [2, ...z.minOutput]);
        assert.ok(y.dataSync().every(Number.isFinite));
        await assert.rejects(build(z.id, { includeTop: false, inputShape: [z.min - 1, z.min - 1, 3] }), new RegExp(`at least ${z.min}x${z.min}`));
        m.dispose();
      });

      test(`pooling avg gives ${z.features} features; the Keras cut point ${z.cut} fine-tunes part of the base`, async () => {
        const base = await build(z.id, { includeTop: false, inputShape: [z.min + 1, z.min + 1, 3], pooling: 'avg' });
        assert.deepEqual(base.outputs[0].shape, [null, z.features]);
        const model = addHead(base, 'dense:2:softmax');
        unfreezeFrom(model, z.cut);
        const c = countParams(model);
        assert.ok(c.trainable > z.features * 2 && c.trainable < c.total, `trainable ${c.trainable} of ${c.total}`);
        const blocks = modelBlocks(base);
        assert.equal(blocks.reduce((n, b) => n + b.params, 0), countParams(base).total);
      });

      test('a synthetic Keras .h5 written from its weights round-trips strictly (Keras 2 and Keras 3 layouts)', async () => {
        const shape: [number, number, number] = [z.min, z.min, 3];
        const src = await build(z.id, { includeTop: false, inputShape: shape });
        // Random moving statistics too, so a BatchNorm weight in the wrong slot would show.
        for (const l of src.layers) {
          if (l.getClassName() === 'BatchNormalization') l.setWeights(l.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, 'float32', i)));
        }
        const dir = tempDir();
        for (const format of ['keras2', 'keras3'] as const) {
          const file = path.join(dir, `${z.id}.${format}.h5`);
          await saveWeights(src, file, format);
          const dst = await build(z.id, { includeTop: false, inputShape: shape });
          const report = await loadWeights(dst, file);
          assert.equal(report.format, format);
          assert.deepEqual(values(dst), values(src));
          dst.dispose();
        }
        src.dispose();
      });
    });
  }
});

describe('transferkit layers / summary for the zoo', () => {
  test('layers resnet50 lists the stem, every block of the four stages and their cut points', () => {
    const r = cli(['layers', 'resnet50', '--no-top', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const blocks = JSON.parse(r.stdout) as Array<{ block: string; firstLayer: string; params: number; paramsFromHere: number }>;
    assert.deepEqual(
      blocks.map((b) => b.block),
      ['conv1', 'pool1', 'conv2_block1', 'conv2_block2', 'conv2_block3', 'conv3_block1', 'conv3_block2', 'conv3_block3', 'conv3_block4',
        'conv4_block1', 'conv4_block2', 'conv4_block3', 'conv4_block4', 'conv4_block5', 'conv4_block6', 'conv5_block1', 'conv5_block2', 'conv5_block3'],
    );
    const conv5 = blocks.find((b) => b.block === 'conv5_block1')!;
    assert.equal(conv5.firstLayer, 'conv5_block1_1_conv');
    assert.equal(conv5.paramsFromHere, 14_998_528);
    const table = cli(['layers', 'resnet50', '--no-top']);
    assert.match(table.stdout, /conv5_block1\s+conv5_block1_1_conv\s+12\s+6,054,912\s+14,998,528/);
  });

  test('summary --json with top for every id', () => {
    for (const z of ZOO.filter((x) => !x.id.startsWith('vgg'))) {
      const r = cli(['summary', z.id, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).totalParams, z.withTop, z.id);
    }
  });

  test('--alpha for MobileNetV2 and a clear error for other models', () => {
    const r = cli(['summary', 'mobilenet_v2', '--alpha', '0.35', '--no-top', '--input-shape', '96,96,3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).model, 'mobilenetv2_0.35_96');
    const bad = cli(['summary', 'resnet50', '--alpha', '0.5']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--alpha applies to mobilenet and mobilenet_v2 only/);
  });
});
