// The one registry (zoo models and ONNX backbones) and the one resolver every caller of `--base` goes through,
// exercised from the public API.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { applications, baseRegistry, findBase, resolveBase, trainImageClassifier, weightsRegistry } from '../src/index.js';
import { ONNX_BACKBONES } from '../src/weights/onnx-backbones.js';
import { makeImageFolder, tempDir } from './helpers.js';
import { foreignModel } from './onnx-fixtures.js';

describe('the base registry', () => {
  test('lists the 40 zoo models, then the 8 ONNX backbones, each once, with input size, normalisation and weights', () => {
    const all = baseRegistry();
    assert.equal(all.filter((e) => e.kind === 'zoo').length, 40);
    assert.deepEqual(
      all.filter((e) => e.kind === 'onnx').map((e) => e.id),
      ONNX_BACKBONES.map((b) => b.id),
    );
    assert.equal(new Set(all.map((e) => e.id)).size, 48);
    for (const e of all) for (const name of [e.id, ...e.aliases]) assert.equal(findBase(name)?.id, e.id, name);
    const vgg = findBase('VGG16');
    assert.equal(vgg?.kind, 'zoo');
    assert.deepEqual([vgg?.id, vgg?.inputSize, vgg?.normalization], ['vgg16', 224, { mode: 'caffe' }]);
    assert.equal(findBase('Xenova/dinov2-small')?.id, 'dinov2_s');
    assert.equal(findBase('dinov2-small')?.id, 'dinov2_s');
    assert.deepEqual(findBase('vit_b16')?.normalization, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    assert.equal(findBase('no-such-model'), undefined);
    // The Keras files `weights list` shows are the zoo entries' files, in the registry's order.
    assert.deepEqual(
      weightsRegistry(),
      all.flatMap((e) => (e.kind === 'zoo' ? e.weights : [])),
    );
    assert.equal(applications.getApplication('MobileNetV2').spec.id, findBase('mobilenetv2')?.id);
  });
});

describe('resolveBase', () => {
  test('a zoo base: its size and preprocessing; fine-tuning needs a layer; ONNX-only options are refused', () => {
    const base = resolveBase({ base: 'MobileNet', alpha: 0.25, inputSize: 96 });
    assert.equal(base.kind, 'zoo');
    assert.deepEqual([base.id, base.inputSize, base.preprocessing, base.strategy], ['mobilenet', 96, 'tf', 'feature-extraction']);
    assert.deepEqual(base.options, {
      base: 'MobileNet',
      alpha: 0.25,
      weights: undefined,
      inputSize: 96,
      strategy: 'feature-extraction',
      unfreezeFrom: undefined,
    });
    assert.equal(resolveBase({ base: 'resnet50' }).inputSize, 224);
    assert.throws(() => resolveBase({ base: 'mobilenet', strategy: 'fine-tune' }), /the fine-tune strategy needs the layer to unfreeze from/);
    assert.equal(resolveBase({ base: 'mobilenet', strategy: 'fine-tune', unfreezeFrom: 'conv_pw_13' }).strategy, 'fine-tune');
    assert.throws(() => resolveBase({ base: 'mobilenet', mean: [0, 0, 0] }), /--mean applies to ONNX bases/);
    assert.throws(() => resolveBase({ base: 'mobilenet', unfreezeLastBlocks: 2 }), /--unfreeze-last-blocks applies to ONNX bases/);
    assert.throws(() => resolveBase({ base: 'lenet' }), /unknown model 'lenet'/);
  });

  test('an ONNX file: read, cut at its features and at its last block; zoo-only options refused', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'model.onnx');
    await foreignModel(file, 16, 3);
    const plain = resolveBase({ base: file });
    assert.equal(plain.kind, 'onnx');
    assert.deepEqual([plain.id, plain.inputSize, plain.strategy, plain.cut], ['model', 16, 'feature-extraction', undefined]);
    const ft = resolveBase({ base: file, unfreezeLastBlocks: 1, mean: [0.5, 0.5, 0.5] });
    assert.equal(ft.kind, 'onnx');
    assert.equal(ft.strategy, 'fine-tune');
    assert.equal(ft.kind === 'onnx' ? ft.cut?.block : null, 'features.0');
    assert.ok(ft.kind === 'onnx');
    assert.deepEqual(ft.preprocessing.mean, [0.5, 0.5, 0.5]);
    assert.equal(ft.options.onnxBase?.cut?.block, 'features.0');
    // Resolving the loaded base again keeps its cut.
    assert.equal(resolveBase({ base: ft.options.onnxBase as NonNullable<typeof ft.options.onnxBase> }).strategy, 'fine-tune');
    assert.throws(() => resolveBase({ base: file, strategy: 'fine-tune' }), /fine-tuning an ONNX base needs where to cut/);
    assert.throws(() => resolveBase({ base: file, strategy: 'full' }), /--strategy full does not apply to an ONNX base/);
    assert.throws(() => resolveBase({ base: file, alpha: 0.5 }), /--alpha and --weights apply to zoo bases/);
    assert.throws(() => resolveBase({ base: file, unfreezeFrom: 'nowhere' }), /--unfreeze-from nowhere: .*its blocks: features\.0/);
  });

  test("a registry backbone in the cache without preprocessor_config.json takes the registry's size and normalisation", async () => {
    const home = tempDir();
    const folder = path.join(home, 'weights', 'onnx', 'vit_b16', 'onnx');
    mkdirSync(folder, { recursive: true });
    await foreignModel(path.join(folder, 'model.onnx'), 16, 3);
    const before = process.env.TRANSFERKIT_HOME;
    process.env.TRANSFERKIT_HOME = home;
    try {
      const base = resolveBase({ base: 'vit_b16' });
      assert.ok(base.kind === 'onnx');
      assert.equal(base.id, 'vit_b16');
      // The graph's input is fixed at 16: that wins over the registry's 224; the normalisation is the registry's.
      assert.equal(base.inputSize, 16);
      assert.deepEqual(
        [base.preprocessing.mean, base.preprocessing.std],
        [
          [0.5, 0.5, 0.5],
          [0.5, 0.5, 0.5],
        ],
      );
      // A folder's own preprocessor_config.json wins over the registry.
      writeFileSync(path.join(folder, '..', 'preprocessor_config.json'), JSON.stringify({ image_mean: [0.1, 0.2, 0.3], image_std: [1, 1, 1] }));
      const own = resolveBase({ base: 'vit_b16' });
      assert.ok(own.kind === 'onnx');
      assert.deepEqual(own.preprocessing.mean, [0.1, 0.2, 0.3]);
    } finally {
      if (before === undefined) delete process.env.TRANSFERKIT_HOME;
      else process.env.TRANSFERKIT_HOME = before;
    }
  });

  test('trainImageClassifier takes an ONNX file as its base, as the CLI does, and fine-tunes it from a resolved cut', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'model.onnx');
    await foreignModel(file, 16, 3);
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 4, size: 16 });
    const byName = await trainImageClassifier(data, { base: file, epochs: 1, validationSplit: 0 });
    assert.equal(byName.strategy, 'feature-extraction');
    assert.equal(byName.onnxBase?.record.source.id, 'model');
    const base = resolveBase({ base: file, unfreezeLastBlocks: 1 });
    const ft = await trainImageClassifier(data, { ...base.options, epochs: 1, validationSplit: 0 });
    assert.equal(ft.strategy, 'fine-tune');
    assert.deepEqual(
      ft.phases.map((p) => p.phase),
      [0, 1],
    );
    assert.notEqual(ft.onnxBase?.record.sha256, byName.onnxBase?.record.sha256, 'the fine-tuned base.onnx differs');
    await assert.rejects(() => trainImageClassifier(data, { base: file, strategy: 'fine-tune', epochs: 1 }), /needs where to cut/);
  });
});
