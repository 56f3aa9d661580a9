import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tflTypes from '@tensorflow/tfjs-layers';
import { applications, countParams, decodePredictions, initBackend, loadWeights, preprocessInput, saveWeights } from '../src/index.js';
import { type WeightToWrite, writeKerasWeights } from '../src/weights/h5.js';
import { MOBILENET_H5, needsShared, tempDir } from './helpers.js';

before(async () => {
  await initBackend();
});

const vggNoTop = () => applications.vgg16({ weights: null, includeTop: false, inputShape: [32, 32, 3] });
const mobilenet025 = (inputShape: [number, number, number] = [224, 224, 3]) =>
  applications.mobilenet({ weights: null, alpha: 0.25, includeTop: false, inputShape });

/** A model's weights as `writeKerasWeights` takes them, keyed by (possibly renamed) layer name. */
function layerMap(model: tflTypes.LayersModel, rename = (n: string) => n): Map<string, WeightToWrite[]> {
  const layers = new Map<string, WeightToWrite[]>();
  for (const l of model.layers.filter((x) => x.weights.length > 0)) {
    layers.set(
      rename(l.name),
      l.weights.map((w) => ({ name: w.originalName.split('/')[1], shape: w.shape as number[], values: w.read().dataSync() as Float32Array })),
    );
  }
  return layers;
}

function allWeights(model: tflTypes.LayersModel): Float32Array[] {
  return model.weights.map((w) => w.read().dataSync() as Float32Array);
}

describe('Keras .h5 weights: synthetic files round-trip strictly', () => {
  test('Keras 2 layout: a known value in block5_conv3/kernel lands there, and every other weight too', async () => {
    const src = await vggNoTop();
    const layer = src.getLayer('block5_conv3');
    const [kernel, bias] = layer.getWeights();
    const marked = tf.tidy(() => tf.fill(kernel.shape, 0.125));
    layer.setWeights([marked, bias]);
    const file = path.join(tempDir(), 'vgg16_notop.h5');
    await saveWeights(src, file);

    const dst = await vggNoTop();
    const report = await loadWeights(dst, file);
    assert.equal(report.format, 'keras2');
    assert.equal(report.layersLoaded, 13);
    assert.equal(report.weightsLoaded, 26);
    const got = dst.getLayer('block5_conv3').getWeights()[0].dataSync();
    assert.ok(got.every((v) => v === 0.125));
    assert.deepEqual(allWeights(dst), allWeights(src));
  });

  test('Keras 3 layout (layers/<class>_k/vars/i): MobileNet round-trips, BatchNorm statistics included', async () => {
    const src = await mobilenet025([64, 64, 3]);
    // Give the moving statistics values no initialiser produces, so a misplaced one would show.
    for (const l of src.layers.filter((x) => x.getClassName() === 'BatchNormalization')) {
      l.setWeights(l.getWeights().map((w, i) => tf.tidy(() => tf.add(tf.randomUniform(w.shape, 0.5, 1.5, 'float32', 7), i))));
    }
    const file = path.join(tempDir(), 'm.weights.h5');
    await saveWeights(src, file, 'keras3');
    const dst = await mobilenet025([64, 64, 3]);
    const report = await loadWeights(dst, file);
    assert.equal(report.format, 'keras3');
    assert.deepEqual(allWeights(dst), allWeights(src));
  });

  test('a file of another model fails, listing missing, unexpected and mis-shaped weights; nothing is assigned', async () => {
    const file = path.join(tempDir(), 'vgg19.h5');
    await saveWeights(await applications.vgg19({ weights: null, includeTop: false, inputShape: [32, 32, 3] }), file);
    const dst = await vggNoTop();
    const before = allWeights(dst);
    await assert.rejects(loadWeights(dst, file), /does not fit model vgg16: .*file layers not in the model \(block3_conv4, block4_conv4, block5_conv4\)/);
    assert.deepEqual(allWeights(dst), before);
  });

  test('one layer missing, one tensor mis-shaped: strict fails; byName / skipMismatch load the rest', async () => {
    const src = await vggNoTop();
    const layers = layerMap(src);
    layers.delete('block1_conv1');
    const b2 = layers.get('block2_conv1')!;
    b2[1] = { name: 'bias', shape: [64], values: new Float32Array(64) };
    const file = path.join(tempDir(), 'partial.h5');
    await writeKerasWeights(file, layers, 'keras2');

    const dst = await vggNoTop();
    await assert.rejects(loadWeights(dst, file), (err: Error) => {
      assert.match(err.message, /2 model weights missing from the file \(block1_conv1\/kernel, block1_conv1\/bias\)/);
      assert.match(err.message, /1 weights of the wrong shape \(block2_conv1\/bias: file \[64\] vs model \[128\]\)/);
      return true;
    });
    await assert.rejects(loadWeights(dst, file, { byName: true }), /wrong shape/);
    const report = await loadWeights(dst, file, { byName: true, skipMismatch: true });
    assert.equal(report.layersLoaded, 11);
    assert.deepEqual(report.missing, ['block1_conv1/kernel', 'block1_conv1/bias']);
    assert.deepEqual(dst.getLayer('block5_conv3').getWeights()[0].dataSync(), src.getLayer('block5_conv3').getWeights()[0].dataSync());
  });

  test("a Keras 2 file whose layer names differ (Keras 2's conv2d_1 numbering) loads by layer order, as Keras does", async () => {
    const src = await mobilenet025([32, 32, 3]);
    const layers = layerMap(src, (n) => `${n}_1`);
    const file = path.join(tempDir(), 'renamed.h5');
    await writeKerasWeights(file, layers, 'keras2');
    const dst = await mobilenet025([32, 32, 3]);
    const report = await loadWeights(dst, file);
    assert.equal(report.matchedBy, 'order');
    assert.deepEqual(allWeights(dst), allWeights(src));
    // Order with a wrong shape still fails strictly.
    await assert.rejects(
      loadWeights(await applications.mobilenet({ weights: null, alpha: 0.5, includeTop: false, inputShape: [32, 32, 3] }), file),
      /wrong shape/,
    );
  });

  test('non-HDF5, truncated and missing files are clear errors', async () => {
    const dir = tempDir();
    const text = path.join(dir, 'text.h5');
    writeFileSync(text, 'not weights\n');
    const m = await vggNoTop();
    await assert.rejects(loadWeights(m, text), /text\.h5: not an HDF5 file/);
    const good = path.join(dir, 'good.h5');
    await saveWeights(m, good);
    const cut = path.join(dir, 'cut.h5');
    copyFileSync(good, cut);
    truncateSync(cut, 4096);
    await assert.rejects(loadWeights(m, cut), /cut\.h5: cannot open the HDF5 file \(truncated or damaged\?\): truncated file/);
    await assert.rejects(loadWeights(m, path.join(dir, 'nope.h5')), /nope\.h5: cannot read the weights file \(ENOENT\)/);
    assert.deepEqual(readdirSync(dir).sort(), ['cut.h5', 'good.h5', 'text.h5'], 'no temporary files left');
  });
});

describe('the real Keras MobileNet file (../shared)', () => {
  const skip = needsShared(MOBILENET_H5);

  test('loads strictly into MobileNet(alpha 0.25, no top) at 224 and at 96; values land where Keras put them', { skip }, async () => {
    for (const size of [224, 96]) {
      const m = await applications.mobilenet({ weights: MOBILENET_H5, alpha: 0.25, includeTop: false, inputShape: [size, size, 3] });
      assert.equal(countParams(m).total, 218_544);
      const gamma = m.getLayer('conv1_bn').getWeights()[0].dataSync();
      assert.ok(Math.abs(gamma[0] - 0.2832702696) < 1e-6 && Math.abs(gamma[1] + 0.8315588235) < 1e-6, `conv1_bn gamma ${gamma.slice(0, 3)}`);
      assert.deepEqual(m.getLayer('conv_dw_1').getWeights()[0].shape, [3, 3, 8, 1]);
    }
  });

  test('predicts finite, non-trivial features on a preprocessed image', { skip }, async () => {
    const m = await applications.mobilenet({ weights: MOBILENET_H5, alpha: 0.25, includeTop: false, inputShape: [96, 96, 3], pooling: 'avg' });
    const x = preprocessInput(tf.randomUniform([2, 96, 96, 3], 0, 255, 'float32', 3), 'tf');
    const y = m.predict(x) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 256]);
    const v = y.dataSync();
    assert.ok(v.every(Number.isFinite) && v.some((a) => a > 0));
  });

  test('VGG16 given the MobileNet file fails with the reason', { skip }, async () => {
    await assert.rejects(applications.vgg16({ weights: MOBILENET_H5, includeTop: false }), /does not fit model vgg16: 26 model weights missing/);
  });
});

describe('MobileNet architecture', () => {
  test('alpha 1.0 with top: 4,253,864 params and Keras names', async () => {
    const m = await applications.mobilenet({ weights: null });
    assert.equal(m.name, 'mobilenet_1.00_224');
    assert.equal(countParams(m).total, 4_253_864);
    const names = m.layers.map((l) => l.name);
    for (const n of [
      'conv1',
      'conv1_bn',
      'conv1_relu',
      'conv_dw_1',
      'conv_pw_1',
      'conv_pad_2',
      'conv_pw_13_relu',
      'reshape_1',
      'dropout',
      'conv_preds',
      'reshape_2',
      'predictions',
    ]) {
      assert.ok(names.includes(n), n);
    }
  });
  test('alpha 0.25 no top: 218,544 params', async () => {
    assert.equal(countParams(await mobilenet025()).total, 218_544);
  });
  test('imagenet rules: alpha and depth multiplier', async () => {
    await assert.rejects(applications.mobilenet({ weights: 'imagenet', alpha: 0.3, includeTop: false }), /alpha in 0\.25, 0\.5, 0\.75, 1; got 0\.3/);
    await assert.rejects(applications.mobilenet({ weights: 'imagenet', depthMultiplier: 2, includeTop: false }), /depthMultiplier 1; got 2/);
  });
});

describe('preprocessing and decoding', () => {
  test("Keras's caffe, tf, torch and none modes", () => {
    const x = tf.tensor4d([10, 20, 30], [1, 1, 1, 3]);
    const close = (t: tf.Tensor, want: number[]) => t.dataSync().forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4, `${v} vs ${want[i]}`));
    close(preprocessInput(x, 'caffe'), [30 - 103.939, 20 - 116.779, 10 - 123.68]);
    close(preprocessInput(x, 'tf'), [10 / 127.5 - 1, 20 / 127.5 - 1, 30 / 127.5 - 1]);
    close(preprocessInput(x, 'torch'), [(10 / 255 - 0.485) / 0.229, (20 / 255 - 0.456) / 0.224, (30 / 255 - 0.406) / 0.225]);
    close(preprocessInput(x, 'none'), [10, 20, 30]);
    assert.throws(() => preprocessInput(x, 'bgr' as 'tf'), /unknown preprocessing mode 'bgr'/);
  });

  test('each family records its preprocessing', async () => {
    assert.equal(applications.preprocessingOf(await vggNoTop()), 'caffe');
    assert.equal(applications.preprocessingOf(await mobilenet025([32, 32, 3])), 'tf');
  });

  test('decodePredictions: top-k from the cached class index; shape (N, 1000) required', async () => {
    const home = tempDir();
    process.env.TRANSFERKIT_HOME = home;
    mkdirSync(path.join(home, 'weights'));
    const index = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [String(i), [`n${String(i).padStart(8, '0')}`, `class_${i}`]]));
    writeFileSync(path.join(home, 'weights', 'imagenet_class_index.json'), JSON.stringify(index));
    const p = Array.from({ length: 1000 }, (_, i) => (i === 281 ? 0.7 : i === 285 ? 0.2 : 0.1 / 998));
    const [top] = await decodePredictions(tf.tensor2d([p]), 2);
    assert.deepEqual(
      top.map((t) => t.label),
      ['class_281', 'class_285'],
    );
    assert.ok(Math.abs(top[0].probability - 0.7) < 1e-6);
    await assert.rejects(decodePredictions(tf.zeros([1, 10])), /shape \(N, 1000\); got \(1, 10\)/);
  });
});
