import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { applications, augmentBatch, imageDatasetFromDirectory, initBackend, parseAugmentSpec, saveWeights, trainImageClassifier } from '../src/index.js';
import { cli, makeImageFolder, tempDir, TINY_BASE } from './helpers.js';

describe('imageDatasetFromDirectory', () => {
  test("Keras's options: split by seed, label modes, grayscale, streamed batches", async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { classes: ['a', 'b', 'c'], perClass: 5, size: 20 });
    const train = await imageDatasetFromDirectory(data, {
      imageSize: [16, 12],
      batchSize: 4,
      validationSplit: 0.2,
      subset: 'training',
      seed: 9,
      labelMode: 'categorical',
    });
    const val = await imageDatasetFromDirectory(data, {
      imageSize: [16, 12],
      batchSize: 4,
      validationSplit: 0.2,
      subset: 'validation',
      seed: 9,
      colorMode: 'grayscale',
    });
    assert.deepEqual(train.classNames, ['a', 'b', 'c']);
    assert.equal(train.files.length + val.files.length, 15);
    assert.ok(!train.files.some((f) => val.files.some((v) => v.file === f.file)), 'the two subsets do not overlap');
    assert.equal(train.cardinality, 3);
    let seen = 0;
    for await (const b of train) {
      assert.deepEqual(b.shape.slice(1), [16, 12, 3]);
      assert.equal(b.x.length, b.shape[0] * 16 * 12 * 3);
      assert.equal(b.y?.length, b.shape[0] * 3);
      assert.equal(
        Array.from(b.y as Float32Array).reduce((a, v) => a + v, 0),
        b.shape[0],
        'one-hot rows',
      );
      seen += b.shape[0];
    }
    assert.equal(seen, 12);
    for await (const b of val) {
      assert.equal(b.shape[3], 1);
      assert.ok(b.y instanceof Int32Array);
    }
    await assert.rejects(imageDatasetFromDirectory(data, { labelMode: 'binary' }), /labelMode 'binary' needs exactly 2 class folders; found 3/);
  });
});

describe('augmentation', () => {
  test('a horizontal flip mirrors the image exactly; draws repeat with the seed; bad specs are clear errors', async () => {
    await initBackend('wasm');
    const [h, w] = [4, 5];
    const px = Float32Array.from({ length: h * w * 3 }, (_, i) => i);
    const flipped = augmentBatch(px, [1, h, w, 3], { flip: 'horizontal' }, () => 0.1);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) assert.ok(Math.abs(flipped[(y * w + x) * 3 + c] - px[(y * w + (w - 1 - x)) * 3 + c]) < 1e-3);
    const kept = augmentBatch(px, [1, h, w, 3], { flip: 'horizontal' }, () => 0.9);
    assert.ok(
      kept.every((v, i) => Math.abs(v - px[i]) < 1e-3),
      'no flip when the draw says so',
    );
    const seeded = (seed: number) => {
      let s = seed;
      return () => (s = (s * 16807) % 2147483647) / 2147483647;
    };
    const spec = parseAugmentSpec('flip:both, rotation:0.1, zoom:0.2, translation:0.1, contrast:0.3');
    assert.deepEqual(spec, { flip: 'horizontal_and_vertical', rotation: 0.1, zoom: 0.2, translation: 0.1, contrast: 0.3 });
    const a = augmentBatch(px, [1, h, w, 3], spec, seeded(3));
    assert.deepEqual(a, augmentBatch(px, [1, h, w, 3], spec, seeded(3)));
    assert.notDeepEqual(a, px);
    assert.ok(a.every((v) => v >= 0 && v <= 255));
    assert.throws(() => parseAugmentSpec('rotate:0.1'), /unknown transform 'rotate'/);
    assert.throws(() => parseAugmentSpec('zoom:2'), /zoom needs a fraction in \(0, 1\)/);
    await initBackend('cpu');
  });

  test('training with --augment is repeatable with a seed and says the prefix runs per batch', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 8, size: 32 });
    const run = () => cli(['train', data, ...TINY_BASE, '--epochs', '2', '--augment', '--seed', '4', '--json']);
    const [r1, r2] = [run(), run()];
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stderr, /augmenting training images \(flip:horizontal, rotation:0.1, zoom:0.1\): the frozen part runs on every training batch/);
    assert.deepEqual(JSON.parse(r1.stdout).val, JSON.parse(r2.stdout).val);
    const bad = cli(['train', data, ...TINY_BASE, '--augment-spec', 'spin:1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown transform 'spin'/);
  });
});

describe('feature cache on disk', () => {
  test('a second run reads every cached row back and trains the same', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 8, size: 32 });
    const home = tempDir();
    // Fixed weights (a random base differs every run, and so would its features).
    const weights = path.join(home, 'base.h5');
    await saveWeights(
      await applications.getApplication('mobilenet').build({ weights: null, includeTop: false, inputShape: [32, 32, 3], alpha: 0.25 }),
      weights,
    );
    const args = TINY_BASE.map((a) => (a === 'none' ? weights : a));
    const run = () => cli(['train', data, ...args, '--epochs', '2', '--feature-cache', 'disk', '--json'], { TRANSFERKIT_HOME: home });
    const first = run();
    assert.equal(first.code, 0, first.stderr);
    const second = run();
    const [a, b] = [JSON.parse(first.stdout), JSON.parse(second.stdout)];
    assert.equal(a.cacheHits, 0);
    assert.equal(b.cacheHits, 16, 'train and validation rows all read from the cache');
    assert.deepEqual(a.val, b.val);
    const files = readdirSync(path.join(home, 'cache', 'features'));
    assert.equal(files.filter((f) => f.endsWith('.f32')).length, 2);
    assert.ok(
      files.every((f) => /^[0-9a-f]{32}\.(f32|json)$/.test(f)),
      `no temporary files left: ${files}`,
    );
    // Changing an image's content changes the key: that split is recomputed, the other still hits.
    const victim = path.join(data, 'alpha', '000.png');
    await makeImageFolder(path.join(tempDir(), 'other'), { classes: ['x', 'y', 'z'], perClass: 1, size: 32 }).then((d) =>
      writeFileSync(victim, readFileSync(path.join(d, 'z', '000.png'))),
    );
    const third = JSON.parse(run().stdout);
    assert.ok(third.cacheHits < 16 && third.cacheHits > 0, `partial hit: ${third.cacheHits}`);
  });
});

describe('regression from a CSV', () => {
  test('train on file,target rows; evaluate --subset validation reproduces the validation MAE; predict gives values', async () => {
    const dir = tempDir();
    const data = await makeImageFolder(path.join(dir, 'images'), { perClass: 8, size: 32 });
    const rows = ['file,target'];
    for (const c of ['alpha', 'beta']) for (const f of readdirSync(path.join(data, c))) rows.push(`images/${c}/${f},${c === 'alpha' ? 1 : 3}`);
    rows.push('images/missing.png,2', 'images/alpha/000.png,not-a-number');
    const csv = path.join(dir, 'targets.csv');
    writeFileSync(csv, rows.join('\n') + '\n');
    const out = path.join(dir, 'model');
    const r = cli(['train', csv, ...TINY_BASE, '--epochs', '15', '--learning-rate', '0.01', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.task, 'regression');
    assert.ok(j.val.mae > 0 && j.val.rmse >= j.val.mae && j.val.accuracy === null);
    assert.equal(j.skipped.length, 2);
    assert.match(r.stderr, /Epoch 15\/15 - loss: [\d.]+ - mae: [\d.]+ - val_loss: [\d.]+ - val_mae: [\d.]+/);
    assert.ok(existsSync(path.join(out, 'mae.svg')));
    const e = cli(['evaluate', out, csv, '--subset', 'validation', '--json']);
    assert.equal(e.code, 0, e.stderr);
    const ej = JSON.parse(e.stdout);
    assert.ok(Math.abs(ej.mae - j.val.mae) < 1e-4, `evaluate MAE ${ej.mae} vs training's ${j.val.mae}`);
    assert.equal(ej.count, j.history.length ? 3 : 0);
    const p = cli(['predict', out, path.join(data, 'alpha', '000.png'), '--json']);
    assert.equal(p.code, 0, p.stderr);
    assert.ok(Number.isFinite(JSON.parse(p.stdout)[0].value));
    const bad = cli(['train', path.join(dir, 'nope.csv'), ...TINY_BASE]);
    assert.match(bad.stderr, /nope\.csv: cannot read the targets CSV \(ENOENT\)/);
  });
});

describe('evaluation and leaks', () => {
  test('evaluate --subset validation reproduces the validation accuracy and draws the confusion matrix', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { classes: ['a', 'b', 'c'], perClass: 10, size: 32 });
    const out = path.join(tempDir(), 'model');
    const r = cli(['train', data, ...TINY_BASE, '--epochs', '3', '--learning-rate', '0.01', '--seed', '8', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const png = path.join(tempDir(), 'cm.png');
    const e = cli(['evaluate', out, data, '--subset', 'validation', '--confusion-matrix', png, '--json']);
    assert.equal(e.code, 0, e.stderr);
    const [trained, evaluated] = [JSON.parse(r.stdout).val, JSON.parse(e.stdout)];
    assert.ok(Math.abs(evaluated.accuracy - trained.accuracy) < 1e-9, `${evaluated.accuracy} vs ${trained.accuracy}`);
    assert.ok(Math.abs(evaluated.loss - trained.loss) < 1e-3, `${evaluated.loss} vs ${trained.loss}`);
    assert.equal(
      evaluated.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0),
      6,
    );
    assert.deepEqual([...readFileSync(png).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  });

  for (const engine of ['ort', 'wasm'] as const) {
    test(`the tensor count stays flat from epoch to epoch (${engine})`, async () => {
      const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 6, size: 32 });
      const counts: number[] = [];
      await trainImageClassifier(data, {
        base: 'mobilenet',
        alpha: 0.25,
        weights: null,
        inputSize: 32,
        strategy: 'fine-tune',
        unfreezeFrom: 'conv_pw_13',
        epochs: 4,
        engine,
        onEvent: (ev) => ev.type === 'epoch' && counts.push(tf.memory().numTensors),
      });
      assert.equal(counts.length, 8);
      for (const phase of [counts.slice(1, 4), counts.slice(5, 8)])
        assert.ok(
          phase.every((n) => n === phase[0]),
          `tensors per epoch: ${counts}`,
        );
    });
  }
});
