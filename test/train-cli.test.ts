import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CIFAR_DIR, MOBILENET_H5, cli, makeImageFolder, needsShared, tempDir, TINY_BASE } from './helpers.js';

describe('transferkit train', () => {
  test('a folder with a corrupt JPEG, a text file and an empty class folder trains and reports the skips', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { classes: ['alpha', 'beta', 'gamma'], perClass: 8, size: 32 });
    writeFileSync(path.join(data, 'alpha', 'corrupt.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    writeFileSync(path.join(data, 'beta', 'readme.txt'), 'not an image');
    mkdirSync(path.join(data, 'empty'));
    const out = path.join(tempDir(), 'model');
    const r = cli(['train', data, ...TINY_BASE, '--epochs', '3', '--batch-size', '8', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.classNames, ['alpha', 'beta', 'empty', 'gamma']);
    assert.equal(j.history.length, 3);
    assert.ok(j.history.every((h: { loss: number }) => Number.isFinite(h.loss)));
    assert.equal(j.skipped.length, 2);
    assert.match(JSON.stringify(j.skipped), /corrupt\.jpg.*cannot decode|readme\.txt.*not an image/s);
    assert.match(r.stderr, /class folder 'empty' has no images/);
    assert.match(r.stderr, /Epoch 3\/3 - loss: [\d.]+ - accuracy: [\d.]+ - val_loss: [\d.]+ - val_accuracy: [\d.]+/);
    assert.deepEqual(readdirSync(out).sort(), ['accuracy.svg', 'loss.svg', 'model.json', 'transferkit.json', 'weights.bin']);
    assert.equal((readFileSync(path.join(out, 'loss.svg'), 'utf8').match(/<polyline/g) ?? []).length, 2, 'training and validation loss lines');
    const meta = JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8'));
    assert.equal(meta.preprocessing, 'tf');
    assert.deepEqual(meta.inputShape, [32, 32, 3]);
    assert.equal(meta.task, 'categorical');
  });

  test('a saved model predicts the same probabilities as the in-memory model; evaluate reports a consistent confusion matrix', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 8, size: 32 });
    const { trainImageClassifier, loadModel, saveModel, scoreFiles } = await import('../src/index.js');
    const r = await trainImageClassifier(data, { base: 'mobilenet', alpha: 0.25, weights: null, inputSize: 32, epochs: 2, validationSplit: 0.25 });
    const meta = {
      format: 'transferkit-model' as const,
      version: 1 as const,
      base: { id: 'mobilenet', weights: null },
      inputShape: r.inputShape,
      preprocessing: 'tf' as const,
      classNames: r.classNames,
    };
    const out = path.join(tempDir(), 'model');
    await saveModel(r.model, out, meta);
    const files = readdirSync(path.join(data, 'alpha')).map((f) => path.join(data, 'alpha', f));
    const before = await scoreFiles(r.model, meta, files);
    const loaded = await loadModel(out);
    const after = await scoreFiles(loaded.model, loaded.metadata, files);
    assert.deepEqual(after.scored, before.scored);
    const p = cli(['predict', out, path.join(data, 'beta'), '--top-k', '1', '--json']);
    assert.equal(p.code, 0, p.stderr);
    const preds = JSON.parse(p.stdout);
    assert.equal(preds.length, 8);
    assert.equal(preds[0].predictions.length, 1);
    const e = cli(['evaluate', out, data, '--json']);
    assert.equal(e.code, 0, e.stderr);
    const ev = JSON.parse(e.stdout);
    assert.equal(
      ev.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0),
      16,
    );
    assert.equal(ev.accuracy, (ev.confusionMatrix[0][0] + ev.confusionMatrix[1][1]) / 16);
  });

  test('compare: the three strategies on one split, with a table, charts and an HTML report', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 6, size: 32 });
    const out = path.join(tempDir(), 'cmp');
    const r = cli(['compare', data, ...TINY_BASE, '--unfreeze-from', 'conv_dw_13', '--epochs', '1', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout);
    assert.deepEqual(
      rows.map((x: { strategy: string }) => x.strategy),
      ['full', 'feature-extraction', 'fine-tune'],
    );
    assert.deepEqual(
      rows.map((x: { trainableParams: number }) => x.trainableParams),
      [213_329, 257, 69_121],
    );
    assert.ok(rows.every((x: { wallS: number; bestValAccuracy: number }) => x.wallS > 0 && x.bestValAccuracy >= 0 && x.bestValAccuracy <= 1));
    for (const f of ['compare.json', 'params.svg', 'time.svg', 'accuracy.svg', 'report.html']) assert.ok(existsSync(path.join(out, f)), f);
    assert.match(readFileSync(path.join(out, 'report.html'), 'utf8'), /<td>fine-tune from conv_dw_13<\/td><td>218,801<\/td><td>69,121<\/td>/);
  });

  test('callbacks: early stopping, restore-best and reduce-LR on a dataset with nothing to learn', async () => {
    // Classes 0 and 3 of the generator look alike: the validation loss cannot keep falling.
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { classes: ['a', 'x', 'y', 'd'], perClass: 10, size: 16 });
    rmSync(path.join(data, 'x'), { recursive: true });
    rmSync(path.join(data, 'y'), { recursive: true });
    const r = cli([
      'train',
      data,
      ...TINY_BASE,
      '--epochs',
      '40',
      '--learning-rate',
      '0.01',
      '--early-stopping',
      '3',
      '--restore-best',
      '--reduce-lr-on-plateau',
      '2',
      '--validation-split',
      '0.5',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.ok(j.history.length < 40, `stopped after ${j.history.length} epochs`);
    assert.match(r.stderr, /early stopping after epoch \d+: no lower validation loss for 3 epoch\(s\)/);
    assert.match(r.stderr, /learning rate now 0\.001/);
    const restored = Number((/restored the weights of epoch (\d+)/.exec(r.stderr) as RegExpExecArray)[1]);
    assert.equal(j.val.loss, Math.min(...j.history.map((h: { valLoss: number }) => h.valLoss)));
    assert.equal(j.val.loss, j.history[restored - 1].valLoss);
  });

  test("the seed's exact model trains end to end with --weights none: VGG16 at 32x32, fine-tune from block5_conv1", async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 10, size: 32 });
    const r = cli([
      'train',
      data,
      '--base',
      'vgg16',
      '--weights',
      'none',
      '--input-size',
      '32',
      '--head',
      'flatten, dense:256:relu, dense:1:sigmoid',
      '--strategy',
      'fine-tune',
      '--unfreeze-from',
      'block5_conv1',
      '--epochs',
      '2',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(
      j.history.map((h: { phase: number; trainedFrom: string }) => [h.phase, h.trainedFrom]),
      [
        [0, 'flatten'],
        [0, 'flatten'],
        [1, 'block5_conv1'],
        [1, 'block5_conv1'],
      ],
    );
  });

  test('full training runs through every layer', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 6, size: 32 });
    const r = cli([
      'train',
      data,
      '--base',
      'mobilenet_v2',
      '--alpha',
      '0.35',
      '--weights',
      'none',
      '--input-size',
      '32',
      '--strategy',
      'full',
      '--epochs',
      '1',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).history[0].trainedFrom, 'Conv1');
  });

  const failures: Array<[string, string[], number, RegExp]> = [
    ['one class only', ['--base', 'mobilenet'], 1, /1 class folder\(s\) with images; a classifier needs at least 2/],
    ['fine-tune without a layer', ['--base', 'mobilenet', '--weights', 'none', '--strategy', 'fine-tune'], 1, /needs the layer to unfreeze from/],
    ['negative epochs', ['--base', 'mobilenet', '--epochs=-3'], 2, /--epochs must be a positive integer/],
    ['learning rate NaN', ['--base', 'mobilenet', '--learning-rate', 'NaN'], 2, /--learning-rate must be a positive number/],
    ['unknown strategy', ['--base', 'mobilenet', '--strategy', 'magic'], 2, /--strategy must be one of full, feature-extraction, fine-tune/],
    [
      'a head that does not fit the classes',
      ['--base', 'mobilenet', '--weights', 'none', '--input-size', '32', '--head', 'gap, dense:5:softmax'],
      1,
      /must end in dense:1:sigmoid for 2 classes/,
    ],
  ];
  for (const [what, args, code, pattern] of failures) {
    test(`fails cleanly: ${what}`, async () => {
      const data = await makeImageFolder(path.join(tempDir(), 'data'), { classes: what === 'one class only' ? ['solo'] : ['a', 'b'], perClass: 3, size: 16 });
      const r = cli(['train', data, ...args]);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.includes('error')).length,
        1,
      );
    });
  }

  test('two CIFAR-10 classes with the real MobileNet weights at 96x96: well above chance', {
    skip: needsShared(MOBILENET_H5) || needsShared(CIFAR_DIR),
  }, async () => {
    const home = tempDir();
    assert.equal(cli(['weights', 'import', MOBILENET_H5], { TRANSFERKIT_HOME: home }).code, 0);
    const data = path.join(tempDir(), 'pair');
    for (const c of ['airplane', 'frog']) {
      mkdirSync(path.join(data, c), { recursive: true });
      for (const f of readdirSync(path.join(CIFAR_DIR, c)).slice(0, 500)) cpSync(path.join(CIFAR_DIR, c, f), path.join(data, c, f));
    }
    const r = cli(['train', data, '--base', 'mobilenet', '--alpha', '0.25', '--input-size', '96', '--epochs', '8', '--json'], { TRANSFERKIT_HOME: home });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.ok(j.val.accuracy > 0.85, `validation accuracy ${j.val.accuracy}`);
    assert.ok(existsSync(home));
  });
});
