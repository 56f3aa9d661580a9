import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { applications, countParams, initBackend, summarize } from '../src/index.js';

before(async () => {
  await initBackend();
});

describe('VGG16 / VGG19 as keras.applications builds them', () => {
  test('VGG16 with top: Keras layer names and 138,357,544 params', async () => {
    const m = await applications.vgg16({ weights: null });
    assert.equal(m.name, 'vgg16');
    assert.equal(countParams(m).total, 138_357_544);
    assert.deepEqual(
      m.layers.map((l) => l.name),
      [
        'input_layer',
        'block1_conv1',
        'block1_conv2',
        'block1_pool',
        'block2_conv1',
        'block2_conv2',
        'block2_pool',
        'block3_conv1',
        'block3_conv2',
        'block3_conv3',
        'block3_pool',
        'block4_conv1',
        'block4_conv2',
        'block4_conv3',
        'block4_pool',
        'block5_conv1',
        'block5_conv2',
        'block5_conv3',
        'block5_pool',
        'flatten',
        'fc1',
        'fc2',
        'predictions',
      ],
    );
    const last = m.layers[m.layers.length - 1];
    assert.equal(last.getConfig().activation, 'softmax');
    // Keras initialises kernels with glorot_uniform (tfjs's own default is glorot_normal).
    const init = m.getLayer('fc1').getConfig().kernelInitializer as { config: Record<string, unknown> };
    assert.deepEqual([init.config.scale, init.config.mode, init.config.distribution], [1, 'fanAvg', 'uniform']);
    m.dispose();
  });

  test('VGG19 with top: 143,667,240 params', async () => {
    const m = await applications.vgg19({ weights: null });
    assert.equal(countParams(m).total, 143_667_240);
    assert.ok(m.layers.some((l) => l.name === 'block5_conv4'));
    m.dispose();
  });

  test('VGG16 without top at 32x32: 14,714,688 params, last layer block5_pool (None, 1, 1, 512)', async () => {
    const m = await applications.vgg16({ weights: null, includeTop: false, inputShape: [32, 32, 3] });
    const s = summarize(m);
    assert.equal(s.totalParams, 14_714_688);
    const last = s.layers[s.layers.length - 1];
    assert.equal(last.name, 'block5_pool');
    assert.deepEqual(last.outputShape, [null, 1, 1, 512]);
    m.dispose();
  });

  test('pooling avg/max gives a flat 512 feature vector', async () => {
    for (const pooling of ['avg', 'max'] as const) {
      const m = await applications.vgg16({ weights: null, includeTop: false, inputShape: [48, 48, 3], pooling });
      assert.deepEqual(m.outputs[0].shape, [null, 512]);
      assert.equal(m.layers[m.layers.length - 1].name, pooling === 'avg' ? 'global_average_pooling2d' : 'global_max_pooling2d');
      m.dispose();
    }
  });

  test('no top and no input shape: a fully convolutional model (None, None, 3)', async () => {
    const m = await applications.vgg16({ weights: null, includeTop: false });
    assert.deepEqual(m.inputs[0].shape, [null, null, null, 3]);
    m.dispose();
  });

  test('a custom classifier: classes and activation', async () => {
    const m = await applications.vgg16({ weights: null, inputShape: [32, 32, 3], classes: 10, classifierActivation: null });
    assert.deepEqual(m.outputs[0].shape, [null, 10]);
    assert.equal(m.getLayer('predictions').getConfig().activation, 'linear');
    m.dispose();
  });
});

describe("Keras's input rules, in Keras's order", () => {
  const rejects = (args: applications.ApplicationArgs, pattern: RegExp) => assert.rejects(applications.vgg16(args), pattern);

  test('weights must be imagenet, null or an existing file', () => rejects({ weights: '/no/such/file.h5' }, /weights must be 'imagenet', null .*no such file/));
  test('imagenet + includeTop needs 1000 classes', () => rejects({ weights: 'imagenet', classes: 10 }, /classes = 1000; got 10/));
  test('imagenet + includeTop needs the default 224x224x3', () =>
    rejects({ weights: 'imagenet', inputShape: [64, 64, 3] }, /needs inputShape \[224, 224, 3\]; got \[64, 64, 3\]/));
  test('input shape needs three entries', () =>
    rejects({ weights: null, includeTop: false, inputShape: [32, 32] as unknown as [number, number, number] }, /three entries/));
  test('imagenet needs 3 channels', () => rejects({ weights: 'imagenet', includeTop: false, inputShape: [64, 64, 1] }, /3 input channels/));
  test('below the minimum size names the minimum 32', () =>
    rejects({ weights: null, includeTop: false, inputShape: [16, 16, 3] }, /at least 32x32; got inputShape \[16, 16, 3\]/));
  test('includeTop with an unknown dimension', () => rejects({ weights: null, includeTop: true, inputShape: [null, 64, 3] }, /static inputShape/));
  test('pretrained classifier only softmax or null', () => rejects({ weights: 'imagenet', classifierActivation: 'sigmoid' }, /softmax' or null/));
  test('a random-weights classifier may use any activation', async () => {
    const m = await applications.vgg16({ weights: null, inputShape: [32, 32, 3], classes: 1, classifierActivation: 'sigmoid' });
    assert.equal(m.getLayer('predictions').getConfig().activation, 'sigmoid');
    m.dispose();
  });
});
