import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/engine/backend.js';
import { defaultCamLayer, gradCam } from '../src/train/explain/gradcam.js';
import { makeBlobDicomFolder } from './dicom-data.js';
import { MOBILENET_H5, cli, needsShared, tempDir } from './helpers.js';

describe('Grad-CAM', () => {
  test('on a hand-built model: the map is ReLU(sum_k mean(dscore/dA_k) A_k), by finite differences of the score', async () => {
    await initBackend();
    const input = tfl.input({ shape: [6, 6, 1] });
    const conv = tfl.layers
      .conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv', kernelInitializer: tfl.initializers.randomNormal({ seed: 3 }) })
      .apply(input) as tfl.SymbolicTensor;
    const base = tfl.model({ inputs: input, outputs: conv, name: 'base' });
    const model = tfl.sequential({
      layers: [
        base,
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.randomNormal({ seed: 4 }) }),
      ],
    });
    assert.equal(defaultCamLayer(model), 'conv');
    const x = tf.randomUniform([1, 6, 6, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const cam = gradCam(model, x, { classIndex: 2 });
    // With GAP then Dense, dscore_c/dA_k = W[k, c] / 36 everywhere: the map is ReLU(sum_k W[k,c]/36 · A_k).
    const a = (base.predict(x) as tf.Tensor).dataSync();
    const w = model.layers[2].getWeights()[0].dataSync();
    const expected = Array.from({ length: 36 }, (_, p) => Math.max(0, (a[p * 2] * w[0 * 3 + 2] + a[p * 2 + 1] * w[1 * 3 + 2]) / 36));
    assert.deepEqual([cam.height, cam.width], [6, 6]);
    cam.map.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `${v} vs ${expected[i]} at ${i}`));
  });

  test('an inner layer (--layer): the graph is run from that layer on, as calling the layers by hand gives', async () => {
    await initBackend();
    const input = tfl.input({ shape: [8, 8, 3] });
    const c1 = tfl.layers.conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      name: 'c1',
      kernelInitializer: tfl.initializers.randomNormal({ seed: 1 }),
    });
    const c2 = tfl.layers.conv2d({
      filters: 3,
      kernelSize: 3,
      strides: 2,
      activation: 'relu',
      name: 'c2',
      kernelInitializer: tfl.initializers.randomNormal({ seed: 2 }),
    });
    const skip = tfl.layers.add({ name: 'skip' });
    const a1 = c1.apply(input) as tfl.SymbolicTensor;
    const c3 = tfl.layers.conv2d({ filters: 4, kernelSize: 1, name: 'c3', kernelInitializer: tfl.initializers.randomNormal({ seed: 6 }) });
    const out = c2.apply(skip.apply([a1, c3.apply(a1) as tfl.SymbolicTensor]) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    const base = tfl.model({ inputs: input, outputs: out, name: 'base' });
    const dense = tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.randomNormal({ seed: 7 }) });
    const model = tfl.sequential({ layers: [base, tfl.layers.flatten({}), dense] });
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const cam = gradCam(model, x, { layer: 'c1', classIndex: 0 });
    const a = c1.apply(x) as tf.Tensor4D;
    const logit = (t: tf.Tensor) =>
      tf.neg(
        tf.sum(
          tf.add(
            tf.matMul(tf.reshape(c2.apply(skip.apply([t, c3.apply(t) as tf.Tensor]) as tf.Tensor) as tf.Tensor, [1, -1]), dense.getWeights()[0]),
            dense.getWeights()[1],
          ),
        ),
      );
    const g = tf.grad(logit)(a);
    const expected = tf.relu(tf.sum(tf.mul(a, tf.mean(g, [1, 2], true)), -1)).dataSync();
    assert.deepEqual([cam.layer, cam.height, cam.width], ['c1', 8, 8]);
    assert.ok(
      cam.map.some((v) => v > 0),
      'a map that is not all zero',
    );
    cam.map.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `${v} vs ${expected[i]}`));
    assert.throws(() => gradCam(model, x, { layer: 'nope' }), /no such layer/);
  });

  test('a model trained on DICOM with a bright blob upper-left looks there: peak in the quadrant on >= 90% of held-out images', {
    skip: needsShared(MOBILENET_H5),
  }, async () => {
    const home = tempDir();
    assert.equal(cli(['weights', 'import', MOBILENET_H5], { TRANSFERKIT_HOME: home }).code, 0);
    const root = tempDir();
    const train = await makeBlobDicomFolder(path.join(root, 'train'), 40, 64, 11);
    const heldOut = await makeBlobDicomFolder(path.join(root, 'held-out'), 20, 64, 99);
    const out = path.join(root, 'model');
    const t = cli(
      [
        'train',
        train,
        '--base',
        'mobilenet',
        '--alpha',
        '0.25',
        '--input-size',
        '224',
        '--epochs',
        '30',
        '--learning-rate',
        '0.01',
        '--seed',
        '1',
        '--out',
        out,
        '--json',
      ],
      { TRANSFERKIT_HOME: home },
    );
    assert.equal(t.code, 0, t.stderr);
    const x = cli(['explain', out, path.join(heldOut, 'blob'), '--class', 'blob', '--out', path.join(root, 'cams'), '--json']);
    assert.equal(x.code, 0, x.stderr);
    const explained = JSON.parse(x.stdout).explained as Array<{ peak: { x: number; y: number } }>;
    assert.equal(explained.length, 20);
    const inside = explained.filter((e) => e.peak.x < 0.5 && e.peak.y < 0.5).length;
    process.stderr.write(`Grad-CAM peak in the upper-left quadrant on ${inside} of ${explained.length} held-out blob images\n`);
    assert.ok(inside >= 18, `${inside} of 20`);
  });
});
