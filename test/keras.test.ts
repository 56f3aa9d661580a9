import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { unzipSync, zipSync } from 'fflate';
import sharp from 'sharp';
import { addHead, applications, initBackend, loadModel, saveModel, type ModelMetadata } from '../src/index.js';
import { compileInference } from '../src/engine/onnx/compile.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { createPredictor } from '../src/engine/predictor.js';
import { readKerasModel } from '../src/keras/read.js';
import { writeKerasModel } from '../src/keras/write.js';
import { openKerasWeights, writeKerasWeights } from '../src/weights/h5.js';
import { CIFAR_DIR, ROOT, SEED_HEAD, SHARED, cli, needsShared, tempDir } from './helpers.js';

before(async () => {
  await initBackend();
});

const KERAS_DIR = path.join(SHARED, 'keras-models');

/** Keras 3.15.1's outputs (jax backend) for the input `(i % 17) / 17`; the two Keras 2.x .h5 files after the
 * two config fixes Keras 3 needs to open them (InputLayer from batch_input_shape, no `dtype` in initializers). */
const KERAS_OUTPUTS: Record<string, number[]> = {
  'mnist-k3.1.1.keras': [0.0140273, 0.0013705, 0.1345186, 0.1701173, 0.0333905, 0.0598543, 0.0099687, 0.0084892, 0.5472387, 0.0210248],
  'mnist-k3.12.1.keras': [0.0017684, 0.9933287, 7.7e-5, 0.0, 1e-6, 9.3e-6, 0.0015197, 5.95e-5, 7.53e-5, 0.0031612],
  'mnist-k3.13.2.keras': [0.0913735, 0.1042588, 0.1092542, 0.118275, 0.0814174, 0.0964661, 0.0839184, 0.084048, 0.1596474, 0.0713412],
  'mnist-k3.3.3.keras': [0.0177328, 0.0086759, 0.1472088, 0.0775527, 0.0319737, 0.1932217, 0.0083816, 0.0025168, 0.4570584, 0.0556776],
  'mnist-reshape-k3.11.3.keras': [0.0317957, 0.0227191, 0.1476767, 0.0936026, 0.0253016, 0.0574749, 0.0068751, 0.0160121, 0.5692224, 0.0293199],
  'signmnist-k3.3.3.keras': [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
  'fashion-legacyh5-k3.10.0.h5': [0.0393085, 0.0001664, 0.3893494, 0.0007974, 0.0151192, 0.0007114, 0.0634988, 0.0001607, 0.4907776, 0.0001106],
  'mnist-k2.2.4tf.h5': [0.0985654, 0.1010766, 0.0983782, 0.1012841, 0.0991231, 0.1007108, 0.0983821, 0.0995626, 0.102345, 0.1005721],
  'mnist-k2.3.1.h5': [0.0200621, 0.008243, 0.0464119, 0.1852054, 0.0172049, 0.3165016, 0.0160142, 0.0199938, 0.324869, 0.0454941],
};

const REAL_FILES = [...Object.keys(KERAS_OUTPUTS), 'mnist-k2.15.0.keras', 'covidxray-tm-mobilenetv2-k2.4.0.h5'];

const pattern = (shape: number[]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, (_, i) => (i % 17) / 17),
    shape,
  );
};

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  return Math.max(0, ...Array.from(a, (v, i) => Math.abs(v - b[i])));
};

describe('real Keras files (../shared/keras-models)', () => {
  for (const name of REAL_FILES) {
    test(`${name} loads and predicts${KERAS_OUTPUTS[name] ? " Keras's outputs" : ''}`, { skip: needsShared(path.join(KERAS_DIR, name)) }, async () => {
      const { model, metadata } = await loadModel(path.join(KERAS_DIR, name), { preprocessing: 'unit' });
      const shape = model.inputs[0].shape.map((d) => d ?? 1) as number[];
      const y = tf.tidy(() => (model.predict(pattern(shape)) as tf.Tensor).dataSync() as Float32Array);
      model.dispose();
      assert.ok(Math.abs(y.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'softmax outputs sum to 1');
      assert.equal(metadata.task, 'categorical');
      assert.equal(metadata.inputShape[2], name.startsWith('covid') ? 3 : 1);
      if (KERAS_OUTPUTS[name]) assert.ok(maxDiff(y, KERAS_OUTPUTS[name]) < 1e-5, `${Array.from(y)} vs ${KERAS_OUTPUTS[name]}`);
    });
  }

  test("mnist-k2.2.4tf.h5 through ONNX Runtime, its 128-channel 3×3 layer in Winograd's form: Keras's outputs", { skip: needsShared(KERAS_DIR) }, async () => {
    const name = 'mnist-k2.2.4tf.h5';
    const { model } = await loadModel(path.join(KERAS_DIR, name), { preprocessing: 'unit' });
    // Compiled for batches of 8, the form is taken (one Gather: the 128 → 128 convolution at 14×14, 16 blocks an
    // image), and the outputs of one image are still Keras's.
    const gathers = decodeModel(compileInference(model, { winograd: true, batchSize: 8 }).onnx).graph.nodes.filter((n) => n.opType === 'Gather');
    assert.equal(gathers.length, 1);
    const ort = await createPredictor(model, { engine: 'ort', batchSize: 8 });
    const y = await ort.predict(pattern([1, 28, 28, 1]).dataSync() as Float32Array, 1);
    await ort.dispose();
    model.dispose();
    assert.ok(maxDiff(y, KERAS_OUTPUTS[name]) < 1e-5, `${Array.from(y)} vs ${KERAS_OUTPUTS[name]}`);
  });

  test('predict --model on a Windows-written Keras 2.15 .keras (backslash weight paths) and the Teachable Machine .h5', {
    skip: needsShared(KERAS_DIR),
  }, async () => {
    const dir = tempDir();
    const img = path.join(dir, 'digit.png');
    await sharp(Buffer.alloc(28 * 28 * 3, 200), { raw: { width: 28, height: 28, channels: 3 } })
      .png()
      .toFile(img);
    const r = cli(['predict', '--model', path.join(KERAS_DIR, 'mnist-k2.15.0.keras'), '--preprocessing', 'unit', img, '--json', '--top-k', '10']);
    assert.equal(r.code, 0, r.stderr);
    const preds = JSON.parse(r.stdout)[0].predictions as Array<{ label: string; probability: number }>;
    assert.equal(preds.length, 10);
    const tm = cli(['predict', '--model', path.join(KERAS_DIR, 'covidxray-tm-mobilenetv2-k2.4.0.h5'), '--preprocessing', 'tf', img, '--json']);
    assert.equal(tm.code, 0, tm.stderr);
    assert.equal((JSON.parse(tm.stdout)[0].predictions as unknown[]).length, 3);
    const none = cli(['predict', '--model', path.join(KERAS_DIR, 'mnist-k3.1.1.keras'), img]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /--preprocessing unit/);
  });
});

describe('fine-tuning a Keras model', () => {
  const tm = path.join(KERAS_DIR, 'covidxray-tm-mobilenetv2-k2.4.0.h5');
  test('train --from the Teachable Machine .h5 --unfreeze-from block_16_expand, then predict and export it', {
    skip: needsShared(tm) || needsShared(CIFAR_DIR),
  }, () => {
    // Three CIFAR-10 classes stand in for the three X-ray classes (same number of outputs).
    const data = tempDir();
    for (const c of ['airplane', 'frog', 'ship']) {
      mkdirSync(path.join(data, c));
      for (const f of readdirSync(path.join(CIFAR_DIR, c)).sort().slice(0, 10)) symlinkSync(path.join(CIFAR_DIR, c, f), path.join(data, c, f));
    }
    const out = path.join(tempDir(), 'tm-ft');
    const r = cli([
      'train',
      data,
      '--from',
      tm,
      '--preprocessing',
      'tf',
      '--unfreeze-from',
      'block_16_expand',
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.strategy, 'fine-tune');
    assert.deepEqual(summary.classNames, ['airplane', 'frog', 'ship']);
    assert.equal(summary.history.length, 2);
    assert.ok(summary.history[1].loss < summary.history[0].loss, 'the loss falls');
    const meta = JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8'));
    assert.equal(meta.preprocessing, 'tf');
    const p = cli(['predict', out, path.join(data, 'frog'), '--json', '--top-k', '3']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).length, 10);
    const e = cli(['export', out, '--format', 'keras', '--out', path.join(out, 'ft.keras')]);
    assert.equal(e.code, 0, e.stderr);
    const wrong = cli(['train', data, '--from', tm, '--preprocessing', 'tf']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /--unfreeze-from LAYER/);
  });
});

const FAMILIES: Array<[string, number]> = [
  ['vgg16', 32],
  ['vgg19', 32],
  ['resnet50', 32],
  ['resnet50v2', 32],
  ['inception_v3', 75],
  ['xception', 71],
  ['mobilenet', 32],
  ['mobilenet_v2', 32],
  ['efficientnet_b0', 32],
];

async function seedModel(id: string, size: number) {
  const base = await applications
    .getApplication(id)
    .build({ weights: null, includeTop: false, inputShape: [size, size, 3], ...(id === 'mobilenet' ? { alpha: 0.25 } : {}) });
  // Moving statistics away from 0 and 1, so that a weight put in the wrong place shows.
  for (const l of base.layers) {
    if (l.getClassName() === 'BatchNormalization') l.setWeights(l.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1, 'float32', i + 3)));
  }
  return addHead(base, SEED_HEAD, { seed: 1 });
}

describe('round trips: transferkit -> .keras / .h5 -> transferkit', () => {
  for (const [id, size] of FAMILIES) {
    test(`${id} + the seed's head: identical outputs through both formats`, async () => {
      const model = await seedModel(id, size);
      const x = tf.randomUniform([2, size, size, 3], -1, 1, 'float32', 7);
      const expected = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
      for (const [format, ext] of [
        ['keras', 'keras'],
        ['keras-h5', 'h5'],
      ] as const) {
        const file = path.join(tempDir(), `m.${ext}`);
        await writeKerasModel(model, file, format);
        const back = await readKerasModel(file);
        assert.equal(
          maxDiff(
            tf.tidy(() => (back.model.predict(x) as tf.Tensor).dataSync()),
            expected,
          ),
          0,
          format,
        );
        assert.equal(back.model.countParams(), model.countParams());
        back.model.dispose();
      }
      model.dispose();
      x.dispose();
    });
  }
});

describe('export --format keras, then predict --model', () => {
  for (const [id, size] of [
    ['vgg16', 32],
    ['mobilenet', 32],
    ['resnet50', 32],
    ['efficientnet_b0', 32],
  ] as const) {
    test(`${id}: the in-memory probabilities within 1e-5`, async () => {
      const model = await seedModel(id, size);
      const dir = path.join(tempDir(), 'model');
      const meta: ModelMetadata = {
        format: 'transferkit-model',
        version: 1,
        base: { id, weights: null },
        inputShape: [size, size, 3],
        preprocessing: 'tf',
        classNames: ['cat', 'dog'],
        task: 'binary',
      };
      await saveModel(model, dir, meta);
      model.dispose();
      const img = path.join(tempDir(), 'x.png');
      await sharp(Buffer.from(Array.from({ length: size * size * 3 }, (_, i) => (i * 37) % 256)), { raw: { width: size, height: size, channels: 3 } })
        .png()
        .toFile(img);
      const inMemory = cli(['predict', dir, img, '--json']);
      assert.equal(inMemory.code, 0, inMemory.stderr);
      for (const format of ['keras', 'keras-h5']) {
        const out = path.join(tempDir(), format === 'keras' ? 'm.keras' : 'm.h5');
        const e = cli(['export', dir, '--format', format, '--out', out]);
        assert.equal(e.code, 0, e.stderr);
        const p = cli(['predict', '--model', out, img, '--json']);
        assert.equal(p.code, 0, p.stderr);
        const a = JSON.parse(inMemory.stdout)[0].predictions as Array<{ label: string; probability: number }>;
        const b = JSON.parse(p.stdout)[0].predictions as Array<{ label: string; probability: number }>;
        assert.deepEqual(
          b.map((q) => q.label),
          a.map((q) => q.label),
        );
        assert.ok(
          maxDiff(
            b.map((q) => q.probability),
            a.map((q) => q.probability),
          ) <= 1e-5,
        );
      }
    });
  }
});

describe('the .keras file matches what saving_lib reads', () => {
  test('entries, stored uncompressed; config keys; weights at layers/<class>[_k]/vars/<i>, nested and numbered', async () => {
    const model = await seedModel('vgg16', 32);
    const file = path.join(tempDir(), 'm.keras');
    await writeKerasModel(model, file, 'keras');
    model.dispose();
    const bytes = readFileSync(file);
    // Local headers in order; compression method (offset 8) 0 = stored, as Keras writes.
    const names: string[] = [];
    for (let at = 0; bytes.readUInt32LE(at) === 0x04034b50; ) {
      assert.equal(bytes.readUInt16LE(at + 8), 0);
      const size = bytes.readUInt32LE(at + 18);
      const nameLen = bytes.readUInt16LE(at + 26);
      const extra = bytes.readUInt16LE(at + 28);
      names.push(bytes.subarray(at + 30, at + 30 + nameLen).toString());
      at += 30 + nameLen + extra + size;
    }
    assert.deepEqual(names, ['metadata.json', 'config.json', 'model.weights.h5']);
    const entries = unzipSync(new Uint8Array(bytes));
    const metadata = JSON.parse(new TextDecoder().decode(entries['metadata.json']));
    assert.match(metadata.keras_version, /^3\.\d+\.\d+$/);
    assert.match(metadata.date_saved, /^\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d$/);
    const config = JSON.parse(new TextDecoder().decode(entries['config.json']));
    assert.deepEqual(Object.keys(config).sort(), ['build_config', 'class_name', 'config', 'module', 'registered_name']);
    assert.equal(config.class_name, 'Sequential');
    const [input, base, flatten, dense] = config.config.layers;
    assert.equal(input.class_name, 'InputLayer');
    assert.deepEqual(input.config.batch_shape, [null, 32, 32, 3]);
    assert.equal(base.class_name, 'Functional');
    assert.equal(base.registered_name, 'Functional');
    assert.equal(base.module, 'keras.src.models.functional');
    assert.deepEqual(base.config.input_layers, ['input_layer', 0, 0]);
    assert.equal(flatten.class_name, 'Flatten');
    assert.deepEqual(dense.config.dtype, { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null });
    assert.deepEqual(dense.config.kernel_initializer.module, 'keras.initializers');
    assert.deepEqual(dense.build_config, { input_shape: [null, 512] });
    const conv = base.config.layers[1];
    assert.equal(conv.class_name, 'Conv2D');
    assert.equal(conv.name, 'block1_conv1');
    assert.deepEqual(conv.inbound_nodes, [
      { args: [{ class_name: '__keras_tensor__', config: { shape: [null, 32, 32, 3], dtype: 'float32', keras_history: ['input_layer', 0, 0] } }], kwargs: {} },
    ]);
    for (const k of ['kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate', 'activation', 'use_bias', 'kernel_initializer', 'bias_initializer'])
      assert.ok(k in conv.config, k);

    const h5 = path.join(tempDir(), 'w.h5');
    writeFileSync(h5, entries['model.weights.h5']);
    const stored = await openKerasWeights(h5);
    const keys = [...stored.layers.keys()];
    stored.close();
    assert.deepEqual(keys.slice(0, 2), ['layers/dense', 'layers/dense_1']);
    assert.ok(keys.includes('layers/functional/layers/conv2d/vars'.replace('/vars', '')));
    assert.ok(keys.includes('layers/functional/layers/conv2d_12'));
    assert.equal(keys.length, 2 + 13);
  });
});

/** A .keras written by hand from Keras's documented layout (Keras 3.3 style: dtype as a string). */
function handWrittenConfig(extraLayer?: object) {
  const layer = (class_name: string, config: object) => ({
    module: 'keras.layers',
    class_name,
    config: { trainable: true, dtype: 'float32', ...config },
    registered_name: null,
  });
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      trainable: true,
      dtype: 'float32',
      layers: [
        {
          module: 'keras.layers',
          class_name: 'InputLayer',
          config: { batch_shape: [null, 2, 2, 1], dtype: 'float32', sparse: false, name: 'input_layer' },
          registered_name: null,
        },
        layer('Flatten', { name: 'flatten', data_format: 'channels_last' }),
        ...(extraLayer ? [extraLayer] : []),
        layer('Dense', {
          name: 'dense',
          units: 2,
          activation: 'softmax',
          use_bias: true,
          kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null }, registered_name: null },
          bias_initializer: { module: 'keras.initializers', class_name: 'Zeros', config: {}, registered_name: null },
        }),
      ],
    },
    registered_name: null,
    build_config: { input_shape: [null, 2, 2, 1] },
  };
}

const KERNEL = Float32Array.from([1, 0, 0, 1, 1, 0, 0, 1]);
const BIAS = Float32Array.from([0, 1]);

async function handWrittenKeras(dir: string, config: object, withWeights = true, key = 'layers/dense'): Promise<string> {
  const h5 = path.join(dir, 'w.h5');
  await writeKerasWeights(
    h5,
    new Map([
      [
        key,
        [
          { name: 'kernel', shape: [4, 2], values: KERNEL },
          { name: 'bias', shape: [2], values: BIAS },
        ],
      ],
    ]),
    'keras3',
  );
  const text = (s: string) => new TextEncoder().encode(s);
  const file = path.join(dir, 'hand.keras');
  writeFileSync(
    file,
    zipSync(
      {
        'metadata.json': text('{"keras_version": "3.3.3"}'),
        'config.json': text(JSON.stringify(config)),
        ...(withWeights ? { 'model.weights.h5': readFileSync(h5) } : {}),
      },
      { level: 0 },
    ),
  );
  return file;
}

/** softmax(x · KERNEL + BIAS) for x = [1, 2, 3, 4]: logits [1 + 3, 2 + 4 + 1]. */
const EXPECTED = (() => {
  const e = [Math.exp(4), Math.exp(7)];
  return e.map((v) => v / (e[0] + e[1]));
})();

describe('hand-written files load', () => {
  test('a .keras from the documented layout', async () => {
    const file = await handWrittenKeras(tempDir(), handWrittenConfig());
    const { model, kerasVersion } = await readKerasModel(file);
    assert.equal(kerasVersion, '3.3.3');
    assert.ok(maxDiff((model.predict(tf.tensor([1, 2, 3, 4], [1, 2, 2, 1])) as tf.Tensor).dataSync(), EXPECTED) < 1e-6);
    model.dispose();
  });

  test('a Windows-written Keras 2.x .keras: weight groups named layers\\dense', async () => {
    const file = await handWrittenKeras(tempDir(), handWrittenConfig(), true, 'layers\\dense');
    const { model } = await readKerasModel(file);
    assert.ok(maxDiff((model.predict(tf.tensor([1, 2, 3, 4], [1, 2, 2, 1])) as tf.Tensor).dataSync(), EXPECTED) < 1e-6);
    model.dispose();
  });

  test('a Keras 2 full-model .h5 (batch_input_shape on the first layer, no InputLayer)', async () => {
    const config = {
      class_name: 'Sequential',
      config: {
        name: 'sequential_1',
        layers: [
          {
            class_name: 'Flatten',
            config: { name: 'flatten_1', trainable: true, batch_input_shape: [null, 2, 2, 1], dtype: 'float32', data_format: 'channels_last' },
          },
          {
            class_name: 'Dense',
            config: {
              name: 'dense_1',
              trainable: true,
              dtype: 'float32',
              units: 2,
              activation: 'softmax',
              use_bias: true,
              kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: null } },
              bias_initializer: { class_name: 'Zeros', config: {} },
            },
          },
        ],
      },
    };
    const file = path.join(tempDir(), 'hand.h5');
    await writeKerasWeights(
      file,
      new Map([
        ['flatten_1', []],
        [
          'dense_1',
          [
            { name: 'kernel', shape: [4, 2], values: KERNEL },
            { name: 'bias', shape: [2], values: BIAS },
          ],
        ],
      ]),
      'keras2',
      { modelConfig: JSON.stringify(config) },
    );
    const { model } = await readKerasModel(file);
    assert.ok(maxDiff((model.predict(tf.tensor([1, 2, 3, 4], [1, 2, 2, 1])) as tf.Tensor).dataSync(), EXPECTED) < 1e-6);
  });
});

describe('damaged files and unknown layers: one-line errors naming what is wrong', () => {
  const oneLine = (r: { code: number | null; stderr: string }, pattern: RegExp) => {
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('transferkit: ONNX'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
  };
  const img = async (dir: string) => {
    const f = path.join(dir, 'x.png');
    await sharp(Buffer.alloc(12, 9), { raw: { width: 2, height: 2, channels: 3 } })
      .png()
      .toFile(f);
    return f;
  };

  test('a truncated .keras zip', async () => {
    const dir = tempDir();
    const good = readFileSync(await handWrittenKeras(dir, handWrittenConfig()));
    const file = path.join(dir, 'cut.keras');
    writeFileSync(file, good.subarray(0, good.length - 200));
    oneLine(cli(['predict', '--model', file, '--preprocessing', 'unit', await img(dir)]), /cut\.keras: .*(truncated|damaged)/);
  });

  test('a .keras without model.weights.h5', async () => {
    const dir = tempDir();
    const file = await handWrittenKeras(dir, handWrittenConfig(), false);
    oneLine(cli(['predict', '--model', file, '--preprocessing', 'unit', await img(dir)]), /hand\.keras: the \.keras zip has no model\.weights\.h5/);
  });

  test('an unknown layer class is named with its layer', async () => {
    const dir = tempDir();
    const lambda = { module: 'keras.layers', class_name: 'Lambda', config: { name: 'my_lambda', function: 'x' }, registered_name: null };
    const custom = { module: 'my_project', class_name: 'Swish2', config: { name: 'sw' }, registered_name: 'Custom>Swish2' };
    const config = handWrittenConfig(lambda);
    (config.config.layers as object[]).splice(2, 0, custom);
    const file = await handWrittenKeras(dir, config);
    oneLine(
      cli(['predict', '--model', file, '--preprocessing', 'unit', await img(dir)]),
      /hand\.keras: 2 layer\(s\) transferkit cannot build: sw \(Custom>Swish2\), my_lambda \(Lambda\)/,
    );
  });

  test('weights that do not fit the config', async () => {
    const dir = tempDir();
    const config = handWrittenConfig();
    (config.config.layers[2] as { config: { units: number } }).config.units = 3;
    const file = await handWrittenKeras(dir, config);
    oneLine(cli(['predict', '--model', file, '--preprocessing', 'unit', await img(dir)]), /model\.weights\.h5\) does not fit model .*wrong shape/);
  });

  test('not a Keras file at all', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'notes.keras');
    writeFileSync(file, 'hello');
    oneLine(cli(['predict', '--model', file, await img(dir)]), /notes\.keras: neither a \.keras zip nor an HDF5/);
  });
});

/** The Python that has Keras 3 (TRANSFERKIT_KERAS_PYTHON, else .ci/run's .venv-keras, else python3), or null with a notice. */
function kerasPython(): string | null {
  const venv = path.join(ROOT, '.venv-keras', 'bin', 'python');
  const python = process.env.TRANSFERKIT_KERAS_PYTHON ?? (existsSync(venv) ? venv : 'python3');
  const r = spawnSync(python, ['-c', 'import os; os.environ.setdefault("KERAS_BACKEND", "jax"); import keras, h5py; print(keras.__version__)'], {
    encoding: 'utf8',
  });
  if (r.status === 0 && /^3\./.test(r.stdout.trim())) return python;
  process.stderr.write(
    `NOTICE: no Python with Keras 3 (.ci/run makes .venv-keras; or set TRANSFERKIT_KERAS_PYTHON): the checks between Keras's files and transferkit's are skipped\n`,
  );
  return null;
}

const PYTHON = kerasPython();

describe('Keras itself loads the exported files', { skip: PYTHON === null ? 'no Python with Keras 3' : false }, () => {
  for (const [id, size] of [
    ['mobilenet_v2', 32],
    ['efficientnet_b0', 32],
    ['inception_v3', 75],
  ] as const) {
    test(`${id}: keras.saving.load_model gives transferkit's outputs (.keras and .h5)`, async () => {
      const model = await seedModel(id, size);
      const dir = tempDir();
      const x = tf.randomUniform([2, size, size, 3], -1, 1, 'float32', 7);
      writeFileSync(path.join(dir, 'x.bin'), Buffer.from((x.dataSync() as Float32Array).buffer));
      const expected = (model.predict(x) as tf.Tensor).dataSync();
      await writeKerasModel(model, path.join(dir, 'm.keras'), 'keras');
      await writeKerasModel(model, path.join(dir, 'm.h5'), 'keras-h5');
      model.dispose();
      const script = `
import os, sys, json; os.environ.setdefault("KERAS_BACKEND", "jax")
import keras, numpy as np
d = sys.argv[1]
x = np.fromfile(os.path.join(d, "x.bin"), dtype="<f4").reshape(2, ${size}, ${size}, 3)
print(json.dumps({f: np.asarray(keras.saving.load_model(os.path.join(d, f), compile=False).predict(x, verbose=0)).ravel().tolist() for f in ["m.keras", "m.h5"]}))`;
      const r = spawnSync(PYTHON as string, ['-c', script, dir], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, number[]>;
      for (const f of ['m.keras', 'm.h5']) assert.ok(maxDiff(out[f], expected) < 1e-5, `${f}: ${out[f]} vs ${Array.from(expected)}`);
      assert.ok(existsSync(path.join(dir, 'm.keras')));
    });
  }
});

describe('transferkit loads the files Keras writes', { skip: PYTHON === null ? 'no Python with Keras 3' : false }, () => {
  test("ConvNeXtTiny's Keras 3 .weights.h5 (nested Sequentials, Conv2D(groups=C)) loads by path and gives Keras's outputs", async () => {
    const dir = tempDir();
    const file = path.join(dir, 'convnext_tiny_notop.weights.h5');
    const script = `
import os, sys; os.environ.setdefault("KERAS_BACKEND", "jax")
import keras, numpy as np
d = sys.argv[1]
m = keras.applications.ConvNeXtTiny(weights=None, include_top=False, input_shape=(32, 32, 3))
m.save_weights(os.path.join(d, "convnext_tiny_notop.weights.h5"))
x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("<f4")
x.tofile(os.path.join(d, "x.bin"))
np.asarray(m.predict(x, verbose=0), dtype="<f4").tofile(os.path.join(d, "y.bin"))`;
    const r = spawnSync(PYTHON as string, ['-c', script, dir], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const f32 = (name: string) => {
      const b = readFileSync(path.join(dir, name));
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    };
    const model = await applications.getApplication('convnext_tiny').build({ weights: file, includeTop: false, inputShape: [32, 32, 3] });
    const y = (model.predict(tf.tensor(f32('x.bin'), [2, 32, 32, 3])) as tf.Tensor).dataSync();
    model.dispose();
    const expected = f32('y.bin');
    assert.equal(y.length, expected.length);
    assert.ok(maxDiff(y, expected) < 1e-4, `max difference ${maxDiff(y, expected)}`);
    // The CLI names the file by path as well.
    const summary = cli(['summary', 'convnext_tiny', '--no-top', '--weights', file, '--input-shape', '32,32,3', '--json']);
    assert.equal(summary.code, 0, summary.stderr);
  });
});
