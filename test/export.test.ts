import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tflTypes from '@tensorflow/tfjs-layers';
import ort from 'onnxruntime-node';
import { addHead, applications, initBackend, loadModel, saveModel, type ModelMetadata } from '../src/index.js';
import { cli, tempDir } from './helpers.js';

before(async () => {
  await initBackend();
});

const meta = (id: string, size: number): ModelMetadata => ({
  format: 'transferkit-model',
  version: 1,
  base: { id, weights: null },
  inputShape: [size, size, 3],
  preprocessing: 'tf',
  classNames: ['a', 'b', 'c'],
});

async function savedModel(id: string, size: number): Promise<{ dir: string; model: tflTypes.LayersModel }> {
  const base = await applications.getApplication(id).build({ weights: null, includeTop: false, inputShape: [size, size, 3] });
  for (const l of base.layers) {
    if (l.getClassName() === 'BatchNormalization') l.setWeights(l.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, 'float32', i)));
  }
  const model = addHead(base, 'gap, dropout:0.2, dense:3:softmax');
  const dir = path.join(tempDir(), 'model');
  await saveModel(model, dir, meta(id, size));
  return { dir, model };
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};

describe('saved models and export', () => {
  for (const [id, size] of [
    ['mobilenet', 32],
    ['efficientnet_b0', 32],
  ] as const) {
    test(`${id}: save, load (custom layers included) and identical predictions; ONNX export runs in onnxruntime-node`, async () => {
      const { dir, model } = await savedModel(id, size);
      const x = tf.randomUniform([3, size, size, 3], 0, 255, 'float32', 2);
      const expected = (model.predict(x) as tf.Tensor).dataSync();
      const loaded = await loadModel(dir);
      assert.deepEqual(loaded.metadata.classNames, ['a', 'b', 'c']);
      close((loaded.model.predict(x) as tf.Tensor).dataSync(), expected, 0);

      const onnxFile = path.join(tempDir(), 'm.onnx');
      const r = cli(['export', dir, '--format', 'onnx', '--out', onnxFile, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).preprocessing, 'tf');
      const session = await ort.InferenceSession.create(readFileSync(onnxFile));
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.dataSync() as Float32Array, [3, size, size, 3]) });
      close(out[session.outputNames[0]].data as Float32Array, expected, 1e-5);
      await session.release();
    });
  }

  test('tfjs export: model.json, weights.bin and transferkit.json that tfjs loads back', async () => {
    const { dir } = await savedModel('mobilenet', 32);
    const out = path.join(tempDir(), 'web');
    const r = cli(['export', dir, '--format', 'tfjs', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['model.json', 'weights.bin', 'transferkit.json']) assert.ok(existsSync(path.join(out, f)), f);
    const again = await loadModel(out);
    assert.deepEqual(again.model.outputs[0].shape, [null, 3]);
  });

  test('damaged saved models are clear errors naming the file', async () => {
    const { dir } = await savedModel('mobilenet', 32);
    writeFileSync(path.join(dir, 'transferkit.json'), '{ not json');
    await assert.rejects(loadModel(dir), /transferkit\.json: not valid JSON \(the file is damaged\)/);
    const second = await savedModel('mobilenet', 32);
    rmSync(path.join(second.dir, 'weights.bin'));
    await assert.rejects(loadModel(second.dir), /weights\.bin: cannot read it \(ENOENT\)/);
    const r = cli(['export', second.dir, '--format', 'onnx']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /weights\.bin: cannot read it/);
    const bad = cli(['export', second.dir, '--format', 'pb']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--format must be one of onnx, tfjs, keras, keras-h5; got 'pb'/);
  });
});
