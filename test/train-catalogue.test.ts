import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cli, makeImageFolder, tempDir } from './helpers.js';

// Fine-tuning the newer families end to end on a generated set (random weights, 32×32: the plumbing, not accuracy).
const CASES: Array<[string, string, string?]> = [
  ['mobilenet_v3_small', 'expanded_conv_9_expand'],
  ['EfficientNetV2B0', 'block6a_expand_conv'],
  // LayerNormalization, GELU, LayerScale and Dense on feature maps in the trained part; LayerScale saved and reloaded.
  ['ConvNeXtTiny', 'convnext_tiny_downsampling_layernorm_2'],
  // A cell boundary: cell 11's layers read cells 9 and 10, so the frozen part runs on every batch.
  ['NASNetMobile', 'activation_163', 'tf'],
];

describe('fine-tuning the newer families', () => {
  for (const [base, cut, preprocessing = 'none'] of CASES) {
    test(`${base}: a CLI fine-tune from ${cut} saves a model that predicts the same after reload`, async () => {
      const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 6, size: 32 });
      const out = path.join(tempDir(), 'model');
      const r = cli([
        'train',
        data,
        '--base',
        base,
        '--weights',
        'none',
        '--input-size',
        '32',
        '--strategy',
        'fine-tune',
        '--unfreeze-from',
        cut,
        '--epochs',
        '1',
        '--batch-size',
        '4',
        '--out',
        out,
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.ok(j.history.every((h: { loss: number }) => Number.isFinite(h.loss)));
      const meta = JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8'));
      // The newer families but NASNet scale their own inputs.
      assert.equal(meta.preprocessing, preprocessing);
      assert.equal(j.phases[1].trainedFrom, cut);
      const { loadModel, scoreFiles } = await import('../src/index.js');
      const files = readdirSync(path.join(data, 'alpha')).map((f) => path.join(data, 'alpha', f));
      const loaded = await loadModel(out);
      const ort = await scoreFiles(loaded.model, loaded.metadata, files, { engine: 'ort' });
      const wasm = await scoreFiles(loaded.model, loaded.metadata, files, { engine: 'wasm' });
      const p = cli(['predict', out, ...files, '--top-k', '2', '--json']);
      assert.equal(p.code, 0, p.stderr);
      const preds = JSON.parse(p.stdout) as Array<{ predictions: Array<{ probability: number }> }>;
      assert.equal(preds.length, files.length);
      // The reloaded model on both engines, and the CLI's own load, agree image by image.
      ort.scored.forEach((s, i) => {
        for (const [k, q] of s.probabilities.entries()) {
          assert.ok(Math.abs(q - wasm.scored[i].probabilities[k]) < 1e-4, `${files[i]}: ORT ${q} vs tfjs ${wasm.scored[i].probabilities[k]}`);
        }
        assert.ok(Math.abs(Math.max(...s.probabilities) - preds[i].predictions[0].probability) < 1e-4);
      });
    });
  }
});

describe('a cut that skip connections cross', () => {
  test('NASNet from a cell boundary: the step starts at the input, only the layers from the cut on change', async () => {
    const { applications, applyStrategy, countParams, createTrainer, initBackend } = await import('../src/index.js');
    const { isSingleValueCut } = await import('../src/engine/onnx/walk.js');
    await initBackend();
    const base = await applications.getApplication('nasnet_mobile').build({ weights: null, includeTop: false, inputShape: [32, 32, 3], pooling: 'avg' });
    assert.equal(isSingleValueCut(base, 'activation_163'), false);
    assert.equal(isSingleValueCut(base, 'activation_187'), true);
    applyStrategy(base, 'fine-tune', 'activation_163');
    const frozen = base.getLayer('normal_conv_1_10').getWeights()[0].dataSync().slice();
    const trained = base.getLayer('normal_conv_1_12').getWeights()[0].dataSync().slice();
    const trainer = await createTrainer(base, { engine: 'ort', from: 'stem_conv1', loss: 'mse', optimizer: { name: 'sgd' } });
    const n = 2;
    const x = Float32Array.from({ length: n * 32 * 32 * 3 }, (_, i) => Math.sin(i));
    const y = Float32Array.from({ length: n * 1056 }, (_, i) => Math.cos(i));
    await trainer.step(x, y, n, 0.1);
    trainer.writeBack();
    await trainer.dispose();
    assert.deepEqual(base.getLayer('normal_conv_1_10').getWeights()[0].dataSync(), frozen, 'a layer before the cut stays as it was');
    assert.notDeepEqual(base.getLayer('normal_conv_1_12').getWeights()[0].dataSync(), trained, 'a layer after the cut trains');
    assert.ok(countParams(base).trainable < 1_500_000);
  });
});
