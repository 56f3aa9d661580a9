import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { SEED_HEAD, cli, tempDir } from './helpers.js';

const SEED = ['--no-top', '--input-shape', '32,32,3', '--head', SEED_HEAD];

describe('transferkit summary', () => {
  test('VGG16 with top prints Keras totals', () => {
    const r = cli(['summary', 'vgg16']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Total params: 138,357,544 \(527\.79 MB\)/);
    assert.match(r.stdout, /fc1 \(Dense\)/);
  });

  test('--json for the frozen seed model', () => {
    const r = cli(['summary', 'vgg16', ...SEED, '--freeze-base', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.model, 'sequential');
    assert.equal(s.totalParams, 14_846_273);
    assert.equal(s.trainableParams, 131_585);
    assert.equal(s.nonTrainableParams, 14_714_688);
    assert.deepEqual(s.layers[0], { name: 'vgg16', className: 'Functional', outputShape: [null, 1, 1, 512], params: 14_714_688, trainable: false, depth: 0 });
  });

  test('--unfreeze-from block5_conv1 --show-trainable', () => {
    const r = cli(['summary', 'vgg16', ...SEED, '--unfreeze-from', 'block5_conv1', '--show-trainable']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Trainable params: 7,211,009 \(27\.51 MB\)/);
    assert.match(r.stdout, /Non-trainable params: 7,635,264 \(29\.13 MB\)/);
    assert.match(r.stdout, /┃ Trainable ┃/);
  });

  test('VGG19 with top --json', () => {
    const r = cli(['summary', 'vgg19', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).totalParams, 143_667_240);
  });

  const failures: Array<[string, string[], number, RegExp]> = [
    ['input below the minimum names 32', ['summary', 'vgg16', '--no-top', '--input-shape', '16,16,3'], 1, /at least 32x32/],
    ['unknown layer lists valid names', ['summary', 'vgg16', ...SEED, '--unfreeze-from', 'block9_conv1'], 1, /valid names: .*block5_conv1/],
    ['include-top imagenet at 64x64', ['summary', 'vgg16', '--weights', 'imagenet', '--input-shape', '64,64,3'], 1, /needs inputShape \[224, 224, 3\]/],
    ['unknown model', ['summary', 'vgg99'], 1, /unknown model 'vgg99': choose one of vgg16, vgg19/],
    ['bad head spec', ['summary', 'vgg16', '--no-top', '--head', 'dense:x'], 2, /head spec is/],
    ['malformed input shape', ['summary', 'vgg16', '--input-shape', '32x32'], 2, /--input-shape must be H,W,C/],
    ['unknown flag', ['summary', 'vgg16', '--bogus'], 2, /Unknown option '--bogus'/],
    ['missing model', ['summary'], 2, /missing argument/],
    ['unknown command', ['sumary'], 2, /unknown command 'sumary'/],
    ['bad pooling', ['summary', 'vgg16', '--no-top', '--pooling', 'mean'], 2, /--pooling must be avg or max/],
  ];
  for (const [what, args, code, pattern] of failures) {
    test(`fails cleanly: ${what}`, () => {
      const r = cli(args);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line, no stack trace: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  }

  test('--help on every command, and the command list', () => {
    for (const cmd of ['summary', 'compare-params']) {
      const r = cli([cmd, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`Usage: transferkit ${cmd}`));
    }
    const r = cli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /summary .*compare-params/s);
  });
});

describe('transferkit compare-params', () => {
  test('the three rows, JSON and a chart', () => {
    const dir = tempDir();
    const chart = path.join(dir, 'params.svg');
    const r = cli(['compare-params', 'vgg16', ...SEED, '--unfreeze-from', 'block5_conv1', '--json', '--chart', chart]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).map((x: { strategy: string; trainableParams: number; nonTrainableParams: number }) => [
        x.strategy,
        x.trainableParams,
        x.nonTrainableParams,
      ]),
      [
        ['full', 14_846_273, 0],
        ['feature-extraction', 131_585, 14_714_688],
        ['fine-tune', 7_211_009, 7_635_264],
      ],
    );
    const svg = readFileSync(chart, 'utf8');
    assert.match(svg, /^<svg/);
    assert.equal((svg.match(/<rect [^>]*fill="#3b75af"><title>/g) ?? []).length, 3, 'one trainable bar per strategy');
  });

  test('table output and a PNG chart', () => {
    const dir = tempDir();
    const chart = path.join(dir, 'params.png');
    const r = cli(['compare-params', 'vgg16', ...SEED, '--unfreeze-from', 'block5_conv1', '--chart', chart]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /fine-tune from block5_conv1\s+14,846,273 \(56\.63 MB\)\s+7,211,009 \(27\.51 MB\)\s+7,635,264 \(29\.13 MB\)/);
    assert.deepEqual([...readFileSync(chart).subarray(1, 4)], [...Buffer.from('PNG')]);
  });

  test('requires --head and --unfreeze-from', () => {
    const r = cli(['compare-params', 'vgg16', '--no-top', '--input-shape', '32,32,3']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--head SPEC is required/);
  });
});
