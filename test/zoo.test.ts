import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tflTypes from '@tensorflow/tfjs-layers';
import { addHead, applications, countParams, initBackend, loadWeights, modelBlocks, saveWeights, unfreezeFrom } from '../src/index.js';
import { writeKerasWeights } from '../src/weights/h5.js';
import { cli, tempDir } from './helpers.js';

before(async () => {
  await initBackend();
});

interface Expect {
  id: string;
  withTop: number;
  /** Without top at the default size; absent where only the top count was recorded before (see PARAMS). */
  noTop?: number;
  /** Only built and counted here: a forward pass and an .h5 round trip of its size would dominate CI. */
  big?: true;
  min: number;
  /** Output of the headless model at its minimum input size. */
  minOutput: number[];
  features: number;
  preprocessing: string;
  cut: string;
  /** The classifier's name where it is not Keras's usual `predictions` (ConvNeXt's `<id>_head_dense`). */
  top?: string;
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
  // Exact totals of the models below (with and without top, default size, 1000 classes) were computed with
  // Keras 3.15.1 on JAX: keras.applications.<Name>(weights=None, include_top=...).count_params(); Keras's
  // documentation table rounds them (e.g. ResNet101 "44.7M").
  ...resnets(),
  {
    id: 'densenet121',
    withTop: 8_062_504,
    noTop: 7_037_504,
    min: 32,
    minOutput: [1, 1, 1024],
    features: 1024,
    preprocessing: 'torch',
    cut: 'conv5_block1_0_bn',
  },
  {
    id: 'densenet169',
    withTop: 14_307_880,
    noTop: 12_642_880,
    min: 32,
    minOutput: [1, 1, 1664],
    features: 1664,
    preprocessing: 'torch',
    cut: 'conv5_block1_0_bn',
  },
  {
    id: 'densenet201',
    withTop: 20_242_984,
    noTop: 18_321_984,
    min: 32,
    minOutput: [1, 1, 1920],
    features: 1920,
    preprocessing: 'torch',
    cut: 'conv5_block1_0_bn',
  },
  ...efficientnets(),
  ...efficientnetsV2(),
  {
    id: 'inception_resnet_v2',
    withTop: 55_873_736,
    noTop: 54_336_736,
    min: 75,
    minOutput: [1, 1, 1536],
    features: 1536,
    preprocessing: 'tf',
    cut: 'block8_1_mixed',
  },
  {
    id: 'mobilenet_v3_small',
    withTop: 2_554_968,
    noTop: 939_120,
    min: 32,
    minOutput: [1, 1, 576],
    features: 576,
    preprocessing: 'none',
    cut: 'expanded_conv_9_expand',
  },
  {
    id: 'mobilenet_v3_large',
    withTop: 5_507_432,
    noTop: 2_996_352,
    min: 32,
    minOutput: [1, 1, 960],
    features: 960,
    preprocessing: 'none',
    cut: 'expanded_conv_12_expand',
  },
  ...convnexts(),
  {
    id: 'nasnet_mobile',
    withTop: 5_326_716,
    noTop: 4_269_716,
    min: 32,
    minOutput: [1, 1, 1056],
    features: 1056,
    preprocessing: 'tf',
    cut: 'reduction_conv_1_reduce_8',
  },
  {
    id: 'nasnet_large',
    withTop: 88_949_818,
    noTop: 84_887_922,
    min: 32,
    minOutput: [1, 1, 4032],
    features: 4032,
    preprocessing: 'tf',
    cut: 'reduction_conv_1_reduce_12',
    // Mobile's cells at other widths and depths: its round trip would add only time.
    big: true,
  },
];

function convnexts(): Expect[] {
  // [size, with top, without top, features]; Keras 3.15.1's count_params() as above. Without top Keras keeps a
  // LayerNormalization of the features (2 × features parameters).
  const counts: Array<[string, number, number, number]> = [
    ['tiny', 28_589_128, 27_820_128, 768],
    ['small', 50_223_688, 49_454_688, 768],
    ['base', 88_591_464, 87_566_464, 1024],
    ['large', 197_767_336, 196_230_336, 1536],
    ['xlarge', 350_196_968, 348_147_968, 2048],
  ];
  return counts.map(([size, withTop, noTop, features]) => ({
    id: `convnext_${size}`,
    withTop,
    noTop,
    min: 32,
    minOutput: [1, 1, features],
    features,
    preprocessing: 'none',
    cut: `convnext_${size}_downsampling_layernorm_2`,
    top: `convnext_${size}_head_dense`,
    // Small is Tiny with a longer third stage: the round trip of Base and larger would add only time.
    ...(size === 'tiny' || size === 'small' ? {} : { big: true as const }),
  }));
}

function resnets(): Expect[] {
  const counts: Array<[string, number, number]> = [
    ['resnet101', 44_707_176, 42_658_176],
    ['resnet152', 60_419_944, 58_370_944],
    ['resnet101v2', 44_675_560, 42_626_560],
    ['resnet152v2', 60_380_648, 58_331_648],
  ];
  return counts.map(([id, withTop, noTop]) => ({
    id,
    withTop,
    noTop,
    min: 32,
    minOutput: [1, 1, 2048],
    features: 2048,
    preprocessing: id.endsWith('v2') ? 'tf' : 'caffe',
    cut: 'conv5_block1_1_conv',
    // The 152s are the 101s with longer stages: their round trips would add only time.
    ...(id.startsWith('resnet152') ? { big: true as const } : {}),
  }));
}

function efficientnetsV2(): Expect[] {
  // [variant, with top, without top, features]
  const counts: Array<[string, number, number, number]> = [
    ['b0', 7_200_312, 5_919_312, 1280],
    ['b1', 8_212_124, 6_931_124, 1280],
    ['b2', 10_178_374, 8_769_374, 1408],
    ['b3', 14_467_622, 12_930_622, 1536],
    ['s', 21_612_360, 20_331_360, 1280],
    ['m', 54_431_388, 53_150_388, 1280],
    ['l', 119_027_848, 117_746_848, 1280],
  ];
  return counts.map(([v, withTop, noTop, features]) => ({
    id: `efficientnet_v2_${v}`,
    withTop,
    noTop,
    min: 32,
    minOutput: [1, 1, features],
    features,
    preprocessing: 'none',
    cut: 'block6a_expand_conv',
    ...(v === 'm' || v === 'l' ? { big: true as const } : {}),
  }));
}

function efficientnets(): Expect[] {
  // [B1…B7]: with top, without top, features (Keras's round_filters(1280) at each width).
  const counts: Array<[number, number, number]> = [
    [7_856_239, 6_575_239, 1280],
    [9_177_569, 7_768_569, 1408],
    [12_320_535, 10_783_535, 1536],
    [19_466_823, 17_673_823, 1792],
    [30_562_527, 28_513_527, 2048],
    [43_265_143, 40_960_143, 2304],
    [66_658_687, 64_097_687, 2560],
  ];
  return counts.map(([withTop, noTop, features], i) => ({
    id: `efficientnet_b${i + 1}`,
    withTop,
    noTop,
    min: 32,
    minOutput: [1, 1, features],
    features,
    preprocessing: 'none',
    cut: 'block7a_expand_conv',
    ...(i + 1 >= 6 ? { big: true as const } : {}),
  }));
}

const build = (id: string, args: applications.ApplicationArgs & Record<string, unknown>) => applications.getApplication(id).build({ weights: null, ...args });
const values = (m: tflTypes.LayersModel) => m.weights.map((w) => w.read().dataSync() as Float32Array);

describe('the model zoo, Keras-exact', () => {
  for (const z of ZOO) {
    describe(z.id, () => {
      test(`with top at its default input: ${z.withTop.toLocaleString('en')} params${z.noTop ? `; ${z.noTop.toLocaleString('en')} without` : ''}`, async () => {
        const m = await build(z.id, {});
        assert.equal(countParams(m).total, z.withTop);
        assert.equal(applications.preprocessingOf(m), z.preprocessing);
        assert.equal(m.getLayer(z.top ?? 'predictions').getConfig().activation, 'softmax');
        m.dispose();
        if (z.noTop) {
          const headless = await build(z.id, { includeTop: false });
          assert.equal(countParams(headless).total, z.noTop);
          headless.dispose();
        }
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

      if (z.big) return;
      test(`pooling avg gives ${z.features} features; the Keras cut point ${z.cut} fine-tunes part of the base`, async () => {
        const base = await build(z.id, { includeTop: false, inputShape: [z.min + 1, z.min + 1, 3], pooling: 'avg' });
        assert.deepEqual(base.outputs[0].shape, [null, z.features]);
        const model = addHead(base, 'dense:2:softmax');
        unfreezeFrom(model, z.cut);
        const c = countParams(model);
        assert.ok(c.trainable > z.features * 2 && c.trainable < c.total, `trainable ${c.trainable} of ${c.total}`);
        const blocks = modelBlocks(base);
        assert.equal(
          blocks.reduce((n, b) => n + b.params, 0),
          countParams(base).total,
        );
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
      [
        'conv1',
        'pool1',
        'conv2_block1',
        'conv2_block2',
        'conv2_block3',
        'conv3_block1',
        'conv3_block2',
        'conv3_block3',
        'conv3_block4',
        'conv4_block1',
        'conv4_block2',
        'conv4_block3',
        'conv4_block4',
        'conv4_block5',
        'conv4_block6',
        'conv5_block1',
        'conv5_block2',
        'conv5_block3',
      ],
    );
    const conv5 = blocks.find((b) => b.block === 'conv5_block1')!;
    assert.equal(conv5.firstLayer, 'conv5_block1_1_conv');
    assert.equal(conv5.paramsFromHere, 14_998_528);
    const table = cli(['layers', 'resnet50', '--no-top']);
    assert.match(table.stdout, /conv5_block1\s+conv5_block1_1_conv\s+12\s+6,054,912\s+14,998,528/);
  });

  test('summary --json with top for the first families (the counts of all are asserted in-process above)', () => {
    for (const z of ZOO.filter((x) => !x.id.startsWith('vgg') && !x.noTop)) {
      const r = cli(['summary', z.id, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).totalParams, z.withTop, z.id);
    }
  });

  test('EfficientNetV2 without its own preprocessing asks the data pipeline for it', async () => {
    const b0 = await build('efficientnet_v2_b0', { includeTop: false, includePreprocessing: false });
    assert.equal(applications.preprocessingOf(b0), 'torch');
    assert.equal(countParams(b0).total, 5_919_312);
    assert.equal(b0.layers[1].name, 'stem_conv');
    const s = await build('EfficientNetV2S', { includeTop: false, includePreprocessing: false });
    assert.equal(applications.preprocessingOf(s), 'tf');
    const withOwn = await build('efficientnet_v2_s', { includeTop: false });
    assert.deepEqual(
      withOwn.layers.slice(1, 3).map((l) => l.name),
      ['rescaling', 'stem_conv'],
    );
  });

  test('MobileNetV3: alpha, minimalistic and its ImageNet weight variants, as Keras names them', async () => {
    const r = cli(['summary', 'mobilenet_v3_large', '--alpha', '0.75', '--no-top', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).model, 'MobileNetV3Large');
    const mini = await build('mobilenet_v3_small', { includeTop: false, minimalistic: true, inputShape: [32, 32, 3] });
    assert.ok(!mini.layers.some((l) => l.name.includes('squeeze_excite') || (l.getConfig() as { activation?: string }).activation === 'hardSwish'));
    const files = applications.getApplication('MobileNetV3Small').spec.weights.map((w) => w.file);
    assert.ok(files.includes('weights_mobilenet_v3_small_minimalistic_224_1.0_float_no_top_v2.h5'));
    assert.ok(files.includes('weights_mobilenet_v3_small_224_0.75_float.h5'));
    const blocks = modelBlocks(mini);
    assert.deepEqual(
      blocks.slice(0, 2).map((b) => [b.block, b.firstLayer]),
      [
        ['conv', 'conv'],
        ['expanded_conv', 'expanded_conv_depthwise_pad'],
      ],
    );
    assert.deepEqual(blocks.find((b) => b.block === 'conv_1')?.firstLayer, 'conv_1');
    await assert.rejects(
      applications.getApplication('mobilenet_v3_small').build({ includeTop: false, minimalistic: true, alpha: 0.75 }),
      /alpha 0.75 or 1.0 \(1.0 only when minimalistic\)/,
    );
  });

  test("summary takes Keras's function names as aliases; an unknown model lists the ids", () => {
    const r = cli(['summary', 'DenseNet121', '--no-top', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.totalParams, 7_037_504);
    assert.equal(s.model, 'densenet121');
    const bad = cli(['summary', 'DenseNet122']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unknown model 'DenseNet122'.*densenet121.*efficientnet_b7/);
  });

  test('layers densenet121 cuts at every conv block and transition; efficientnet_b3 at its scaled blocks', () => {
    const r = cli(['layers', 'densenet121', '--no-top', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const blocks = (JSON.parse(r.stdout) as Array<{ block: string; firstLayer: string }>).map((b) => b.block);
    assert.equal(blocks.filter((b) => /^conv\d_block\d+$/.test(b)).length, 6 + 12 + 24 + 16);
    assert.deepEqual(
      blocks.filter((b) => b.startsWith('pool')),
      ['pool1', 'pool2', 'pool3', 'pool4'],
    );
    assert.deepEqual(blocks.slice(-2), ['conv5_block16', 'post']);
    const e = cli(['layers', 'efficientnet_b3', '--no-top', '--json']);
    assert.equal(e.code, 0, e.stderr);
    // B3's depth 1.4: ceil(1.4 × [1, 2, 2, 3, 3, 4, 1]) = 2, 3, 3, 5, 5, 6, 2 blocks.
    const eb = (JSON.parse(e.stdout) as Array<{ block: string }>).map((b) => b.block);
    assert.deepEqual(
      eb.filter((b) => b.startsWith('block7')),
      ['block7a', 'block7b'],
    );
    assert.equal(eb.filter((b) => b.startsWith('block')).length, 26);
  });

  test('--alpha for MobileNetV2 and a clear error for other models', () => {
    const r = cli(['summary', 'mobilenet_v2', '--alpha', '0.35', '--no-top', '--input-shape', '96,96,3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).model, 'mobilenetv2_0.35_96');
    const bad = cli(['summary', 'resnet50', '--alpha', '0.5']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--alpha applies to mobilenet, mobilenet_v2, mobilenet_v3_small, mobilenet_v3_large only, not resnet50/);
  });
});

describe("ConvNeXt reads Keras's own .h5 layout", () => {
  test('nested Sequential groups (stem, downsampling blocks) and Conv2D(groups=C) kernels (7, 7, 1, C) load strictly', async () => {
    // The layout Keras writes (checked against a file Keras 3.15's legacy .h5 writer made): the stem's and each
    // downsampling block's layers inside their Sequential's group, weights named `<seq>/<layer>/<weight>`.
    const src = await build('convnext_tiny', { includeTop: false, inputShape: [32, 32, 3] });
    const groups = new Map<string, Array<{ name: string; shape: number[]; values: Float32Array }>>();
    for (const l of src.layers) {
      if (l.weights.length === 0) continue;
      const seq = /^convnext_tiny_(stem|downsampling)_(?:layernorm|conv)(?:_(\d))?$/.exec(l.name);
      const group = seq ? (seq[1] === 'stem' ? 'convnext_tiny_stem' : `convnext_tiny_downsampling_block_${seq[2]}`) : l.name;
      const list = groups.get(group) ?? [];
      l.getWeights().forEach((w, i) => {
        const short = l.weights[i].originalName.split('/').pop() as string;
        const grouped = l.getClassName() === 'DepthwiseConv2D' && short === 'depthwise_kernel';
        list.push({
          name: `${seq ? `${group}/` : ''}${l.name}/${grouped ? 'kernel' : short}`,
          shape: grouped ? [7, 7, 1, w.shape[2] as number] : w.shape,
          values: w.dataSync() as Float32Array,
        });
      });
      groups.set(group, list);
    }
    assert.equal(groups.get('convnext_tiny_stem')?.length, 4);
    const file = path.join(tempDir(), 'convnext_tiny_keras_layout.h5');
    await writeKerasWeights(file, groups, 'keras2');
    const dst = await build('convnext_tiny', { includeTop: false, inputShape: [32, 32, 3] });
    const report = await loadWeights(dst, file);
    assert.equal(report.matchedBy, 'name');
    assert.deepEqual(values(dst), values(src));
    src.dispose();
    dst.dispose();
  });
});

describe("NASNet's input rules, as Keras's", () => {
  test('without top and without a shape NASNetMobile still takes 224x224 (NASNetLarge any size); ImageNet with top needs 224 / 331', async () => {
    const mobile = await build('NASNetMobile', { includeTop: false, initialize: false });
    assert.deepEqual(mobile.inputs[0].shape, [null, 224, 224, 3]);
    mobile.dispose();
    const large = await build('nasnet_large', { includeTop: false, initialize: false });
    assert.deepEqual(large.inputs[0].shape, [null, null, null, 3]);
    large.dispose();
    await assert.rejects(applications.getApplication('nasnet_mobile').build({ inputShape: [331, 331, 3] }), /needs inputShape \[224, 224, 3\]/);
    await assert.rejects(applications.getApplication('nasnet_large').build({ inputShape: [224, 224, 3] }), /needs inputShape \[331, 331, 3\]/);
  });
});
