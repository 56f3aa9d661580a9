import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cli, makeImageFolder, tempDir } from './helpers.js';

// Fine-tuning the newer families end to end on a generated set (random weights, 32×32: the plumbing, not accuracy).
const CASES: Array<[string, string]> = [
  ['mobilenet_v3_small', 'expanded_conv_9_expand'],
  ['EfficientNetV2B0', 'block6a_expand_conv'],
  // LayerNormalization, GELU, LayerScale and Dense on feature maps in the trained part; LayerScale saved and reloaded.
  ['ConvNeXtTiny', 'convnext_tiny_downsampling_layernorm_2'],
];

describe('fine-tuning the newer families', () => {
  for (const [base, cut] of CASES) {
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
      // These models scale their own inputs.
      assert.equal(meta.preprocessing, 'none');
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
