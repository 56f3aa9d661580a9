// The bad-input corpus: messy images, folders, weights, saved models and flags, each with the outcome a user
// should see (a counted skip and a finished run, or a one-line error with a nonzero exit), never a stack trace
// and never a partial file left behind. The download cases (cut off, 404, 500, read-only cache) live in
// weights-cli.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { applications, createPredictor, initBackend, loadModel, saveWeights, trainImageClassifier } from '../src/index.js';
import { loadImageBatch, photoSource } from '../src/data/batches.js';
import { writeKerasWeights, type WeightToWrite } from '../src/weights/h5.js';
import { CLI, type CliResult, cli, makeImageFolder, tempDir, TINY_BASE } from './helpers.js';

/** Every file under `dir`, recursively. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() && !e.isSymbolicLink() ? walk(full) : [full];
  });
}

/** What every case must hold: no stack trace, a one-line error when it fails, no temporary file left. */
function clean(r: CliResult, dir: string): void {
  assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, `a stack trace leaked:\n${r.stderr}`);
  if (r.code !== 0) assert.match(r.stderr, /^transferkit [a-z-]+: error: [^\n]+\n$/m);
  const partial = walk(dir).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(partial, [], 'no partial file');
}

const rgb = (w: number, h: number, c = [200, 40, 40]) => sharp({ create: { width: w, height: h, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } });

/** Images a user's folder may hold, and whether each should decode or be skipped. */
const IMAGES: Array<[string, string, (file: string) => Promise<void>, 'decodes' | 'skipped']> = [
  [
    'truncated JPEG',
    'truncated.jpg',
    async (f) => {
      const full = await sharp({ create: { width: 64, height: 64, channels: 3, background: 'gray', noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
        .jpeg()
        .toBuffer();
      writeFileSync(f, full.subarray(0, full.length >> 1));
    },
    'skipped',
  ],
  ['zero-byte file', 'empty.png', async (f) => writeFileSync(f, ''), 'skipped'],
  [
    'PNG with alpha',
    'alpha.png',
    async (f) =>
      void (await sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } } })
        .png()
        .toFile(f)),
    'decodes',
  ],
  ['16-bit PNG', 'deep.png', async (f) => void (await rgb(20, 20).toColourspace('rgb16').png().toFile(f)), 'decodes'],
  ['grayscale PNG', 'gray.png', async (f) => void (await rgb(20, 20).toColourspace('b-w').png().toFile(f)), 'decodes'],
  ['CMYK JPEG', 'cmyk.jpg', async (f) => void (await rgb(20, 20).toColourspace('cmyk').jpeg().toFile(f)), 'decodes'],
  ['1x1 image', 'dot.png', async (f) => void (await rgb(1, 1).png().toFile(f)), 'decodes'],
  ['10000x10 image', 'strip.png', async (f) => void (await rgb(10000, 10).png().toFile(f)), 'decodes'],
  [
    'animated GIF',
    'anim.gif',
    async (f) =>
      void (await sharp({ create: { width: 8, height: 16, channels: 3, background: 'red' } })
        .gif()
        .toFile(f)),
    'decodes',
  ],
  ['a .jpg that is really text', 'text.jpg', async (f) => writeFileSync(f, 'hello, I am not a JPEG\n'), 'skipped'],
  ['EXIF-rotated JPEG', 'rotated.jpg', async (f) => void (await rgb(30, 10).withMetadata({ orientation: 6 }).jpeg().toFile(f)), 'decodes'],
  ['file name with spaces and unicode', 'photo été 01.png', async (f) => void (await rgb(12, 12).png().toFile(f)), 'decodes'],
];

describe('bad-input corpus: images', () => {
  for (const [what, name, make, outcome] of IMAGES) {
    test(`${what}: ${outcome}`, async () => {
      const file = path.join(tempDir(), name);
      await make(file);
      const b = await loadImageBatch([{ file }], { height: 16, width: 16, source: photoSource('tf') });
      if (outcome === 'decodes') {
        assert.deepEqual(b.skipped, []);
        assert.equal(b.x.length, 16 * 16 * 3);
        assert.ok(b.x.every((v) => v >= -1 && v <= 1));
      } else {
        assert.equal(b.items.length, 0);
        assert.match(b.skipped[0].reason, /^cannot decode: /);
      }
    });
  }

  test('an unreadable file (permissions): skipped, or read when running as root', async () => {
    const file = path.join(tempDir(), 'locked.png');
    await rgb(8, 8).png().toFile(file);
    chmodSync(file, 0o000);
    const b = await loadImageBatch([{ file }], { height: 8, width: 8, source: photoSource('none') });
    if (process.getuid?.() === 0) assert.equal(b.items.length, 1, 'root reads it anyway');
    else assert.match(b.skipped[0].reason, /cannot decode/);
  });

  test('all of them in one class folder, through the CLI: training finishes and counts each skip', async () => {
    const dir = tempDir();
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 6, size: 32 });
    for (const [, name, make] of IMAGES) await make(path.join(data, 'alpha', name));
    writeFileSync(path.join(data, 'alpha', '.DS_Store'), 'finder junk');
    const r = cli(['train', data, ...TINY_BASE, '--epochs', '1', '--json']);
    clean(r, dir);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const expected = IMAGES.filter(([, , , o]) => o === 'skipped')
      .map(([, name]) => name)
      .sort();
    assert.deepEqual(j.skipped.map((s: { file: string }) => path.basename(s.file)).sort(), expected, 'hidden files are ignored, bad images counted');
  });
});

describe('bad-input corpus: folders', () => {
  const FOLDERS: Array<[string, (root: string) => Promise<string>, RegExp | { skipped: RegExp | null; images?: number }]> = [
    [
      'an empty dataset folder',
      async (root) => {
        mkdirSync(path.join(root, 'data'));
        return path.join(root, 'data');
      },
      /data: no images found; expected .*<class>\/<image>\.jpg/,
    ],
    ['a missing dataset folder', async (root) => path.join(root, 'nowhere'), /nowhere: cannot read the dataset folder \(ENOENT\)/],
    [
      'one class only',
      async (root) => makeImageFolder(path.join(root, 'data'), { classes: ['only'], perClass: 4 }),
      /1 class folder\(s\) with images; a classifier needs at least 2/,
    ],
    [
      'nested sub-sub-folders (Keras reads them)',
      async (root) => {
        const data = await makeImageFolder(path.join(root, 'data'), { perClass: 4 });
        mkdirSync(path.join(data, 'alpha', 'deeper', 'deepest'), { recursive: true });
        copyFileSync(path.join(data, 'alpha', '000.png'), path.join(data, 'alpha', 'deeper', 'deepest', 'x.png'));
        return data;
      },
      { skipped: null, images: 9 },
    ],
    [
      'a symlink loop',
      async (root) => {
        const data = await makeImageFolder(path.join(root, 'data'), { perClass: 4 });
        symlinkSync(path.join(data, 'alpha'), path.join(data, 'alpha', 'loop'));
        return data;
      },
      { skipped: /symlink loop/, images: 8 },
    ],
    [
      'a class with one image and a validation split',
      async (root) => {
        const data = await makeImageFolder(path.join(root, 'data'), { perClass: 5 });
        for (const f of readdirSync(path.join(data, 'alpha')).slice(1)) rmSync(path.join(data, 'alpha', f));
        return data;
      },
      { skipped: null, images: 6 },
    ],
    [
      'a stray file beside the class folders',
      async (root) => {
        const data = await makeImageFolder(path.join(root, 'data'), { perClass: 4 });
        writeFileSync(path.join(data, 'notes.txt'), 'x');
        return data;
      },
      { skipped: /a file beside the class folders/, images: 8 },
    ],
  ];
  for (const [what, make, expect] of FOLDERS) {
    test(what, async () => {
      const root = tempDir();
      const data = await make(root);
      const r = cli(['train', data, ...TINY_BASE, '--epochs', '1', '--json']);
      clean(r, root);
      if (expect instanceof RegExp) {
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, expect);
        return;
      }
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      if (expect.skipped) assert.match(JSON.stringify(j.skipped), expect.skipped);
      else assert.deepEqual(j.skipped, []);
      if (expect.images !== undefined) assert.equal(j.images.train + j.images.validation, expect.images);
    });
  }
});

describe('bad-input corpus: weights files', () => {
  async function mobilenetLayers(): Promise<Map<string, WeightToWrite[]>> {
    const m = await applications.getApplication('mobilenet').build({ weights: null, includeTop: false, inputShape: [32, 32, 3], alpha: 0.25 });
    return new Map(
      m.layers
        .filter((l) => l.weights.length)
        .map((l) => [
          l.name,
          l.weights.map((w) => ({ name: w.originalName.split('/')[1], shape: w.shape as number[], values: w.read().dataSync() as Float32Array })),
        ]),
    );
  }
  const CASES: Array<[string, (file: string) => Promise<void>, RegExp]> = [
    ['not HDF5 at all', async (f) => writeFileSync(f, 'this is a text file'), /not an HDF5 file|cannot read/i],
    [
      'a truncated .h5',
      async (f) => {
        await saveWeights(await applications.getApplication('mobilenet').build({ weights: null, includeTop: false, inputShape: [32, 32, 3], alpha: 0.25 }), f);
        writeFileSync(f, readFileSync(f).subarray(0, 5000));
      },
      /truncated|cannot read|not an HDF5/i,
    ],
    [
      'the .h5 of another model',
      async (f) =>
        saveWeights(await applications.getApplication('mobilenet_v2').build({ weights: null, includeTop: false, inputShape: [32, 32, 3], alpha: 0.35 }), f),
      /does not fit model/,
    ],
    [
      'one layer missing',
      async (f) => {
        const layers = await mobilenetLayers();
        layers.delete('conv_pw_13');
        await writeKerasWeights(f, layers, 'keras2');
      },
      /model weights missing from the file \(conv_pw_13\/kernel\)/,
    ],
    [
      'one tensor mis-shaped',
      async (f) => {
        const layers = await mobilenetLayers();
        layers.get('conv1')![0] = { name: 'kernel', shape: [3, 3, 3, 9], values: new Float32Array(243) };
        await writeKerasWeights(f, layers, 'keras2');
      },
      /weights of the wrong shape \(conv1\/kernel: file \[3, 3, 3, 9\] vs model \[3, 3, 3, 8\]\)/,
    ],
    ['a missing file', async () => {}, /no such file/],
  ];
  for (const [what, make, error] of CASES) {
    test(`--weights FILE: ${what}`, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'w.h5');
      await make(file);
      const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 3 });
      const r = cli(['train', data, ...TINY_BASE.map((a) => (a === 'none' ? file : a)), '--epochs', '1']);
      clean(r, dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, error);
    });
  }

  test('import of a file whose hash does not match the registry: refused, nothing cached', () => {
    const dir = tempDir();
    const fake = path.join(dir, 'mobilenet_2_5_224_tf_no_top.h5');
    writeFileSync(fake, Buffer.alloc(4096, 7));
    const home = path.join(dir, 'home');
    const r = cli(['weights', 'import', fake], { TRANSFERKIT_HOME: home });
    clean(r, dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sha256|hash|size/i);
    assert.ok(!existsSync(path.join(home, 'weights')) || walk(path.join(home, 'weights')).length === 0);
  });
});

describe('bad-input corpus: saved models and flags', () => {
  async function savedModel(dir: string): Promise<{ out: string; data: string }> {
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 4, size: 32 });
    const out = path.join(dir, 'model');
    const r = cli(['train', data, ...TINY_BASE, '--epochs', '1', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    return { out, data };
  }

  const MODEL_CASES: Array<[string, (out: string) => void, RegExp]> = [
    ['weights.bin missing', (out) => rmSync(path.join(out, 'weights.bin')), /weights\.bin/],
    ['a corrupt transferkit.json', (out) => writeFileSync(path.join(out, 'transferkit.json'), '{"format": "transferkit-mod'), /transferkit\.json/],
    ['a corrupt model.json', (out) => writeFileSync(path.join(out, 'model.json'), 'null'), /model\.json/],
  ];
  for (const [what, damage, error] of MODEL_CASES) {
    test(`predict with a saved model: ${what}`, async () => {
      const dir = tempDir();
      const { out, data } = await savedModel(dir);
      damage(out);
      const r = cli(['predict', out, path.join(data, 'alpha')]);
      clean(r, dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, error);
    });
  }

  test('predict over files with a bad one among them: the rest are classified, the skip reported', async () => {
    const dir = tempDir();
    const { out, data } = await savedModel(dir);
    writeFileSync(path.join(data, 'alpha', 'broken.jpg'), 'nope');
    const r = cli(['predict', out, path.join(data, 'alpha'), path.join(data, 'beta', '000.png')]);
    clean(r, dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /skipped 1 file\(s\): .*broken\.jpg/);
  });

  const FLAGS: Array<[string, string[], number, RegExp]> = [
    ['unknown model id', ['--base', 'vgg17'], 1, /unknown model 'vgg17'|vgg17/],
    ['unknown layer for --unfreeze-from', [...TINY_BASE, '--strategy', 'fine-tune', '--unfreeze-from', 'block9_conv1'], 1, /block9_conv1/],
    ['a bad head spec', [...TINY_BASE, '--head', 'gap, dense:-3'], 2, /head layer 'dense:-3': needs dense:UNITS\[:ACTIVATION\] with UNITS a positive integer/],
    ['input size below the minimum', ['--base', 'mobilenet', '--alpha', '0.25', '--weights', 'none', '--input-size', '16'], 1, /32/],
    ['negative epochs', [...TINY_BASE, '--epochs', '-2'], 2, /--epochs -2: a value that starts with '-' is written --epochs=-2/],
    ['negative epochs, written --epochs=-2', [...TINY_BASE, '--epochs=-2'], 2, /--epochs must be a positive integer/],
    ['learning rate NaN', [...TINY_BASE, '--learning-rate', 'NaN'], 2, /--learning-rate must be a positive number/],
    ['an unknown flag', [...TINY_BASE, '--epoch', '3'], 2, /--epoch/],
    ['an unknown strategy', [...TINY_BASE, '--strategy', 'magic'], 2, /--strategy must be one of/],
    ['an unknown engine', [...TINY_BASE, '--engine', 'gpu'], 1, /unknown engine 'gpu'/],
  ];
  for (const [what, args, code, error] of FLAGS) {
    test(`train: ${what}`, async () => {
      const dir = tempDir();
      const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 3 });
      const r = cli(['train', data, ...args, ...(args.some((a) => a.startsWith('--epochs')) ? [] : ['--epochs', '1'])]);
      clean(r, dir);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, error);
    });
  }

  test('a loss that diverges: stops with a clear message and keeps the last good weights', async () => {
    const dir = tempDir();
    const data = await makeImageFolder(path.join(dir, 'images'), { perClass: 6, size: 32 });
    const rows = ['file,target', ...['alpha', 'beta'].flatMap((c) => readdirSync(path.join(data, c)).map((f) => `images/${c}/${f},${c === 'alpha' ? 1 : 2}`))];
    writeFileSync(path.join(dir, 't.csv'), rows.join('\n'));
    const out = path.join(dir, 'model');
    const r = cli(['train', path.join(dir, 't.csv'), ...TINY_BASE, '--epochs', '5', '--optimizer', 'sgd', '--learning-rate', '1e20', '--out', out]);
    clean(r, dir);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /stopped: the (validation )?loss became (NaN|Infinity) in epoch \d: lower the learning rate \(--learning-rate\); saved the weights (of epoch \d|from before the phase) to /,
    );
    const p = cli(['predict', out, path.join(data, 'alpha', '000.png'), '--json']);
    assert.equal(p.code, 0, p.stderr);
    assert.ok(Number.isFinite(JSON.parse(p.stdout)[0].value), 'the kept weights are finite');
  });
});

describe('crash safety', () => {
  test('SIGKILL in the middle of saving leaves the old complete model or the new one, never half', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'model');
    const script = path.join(dir, 'saver.mjs');
    const src = path.resolve(CLI, '..', '..', 'index.js');
    writeFileSync(
      script,
      `import { applications, saveModel } from ${JSON.stringify(src)};
const m = await applications.getApplication('vgg16').build({ weights: null, includeTop: false, inputShape: [32, 32, 3] });
process.stdout.write('ready\\n');
for (let i = 0; ; i++) await saveModel(m, ${JSON.stringify(out)}, { format: 'transferkit-model', version: 1, base: { id: 'vgg16', weights: null }, inputShape: [32, 32, 3], preprocessing: 'caffe', round: i });
`,
    );
    for (const delay of [150, 400, 700, 1100]) {
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      if (!existsSync(path.join(out, 'transferkit.json'))) continue;
      const { model } = await loadModel(out);
      assert.equal(model.countParams(), 14_714_688, `after a kill at ${delay} ms the saved model loads whole`);
      model.dispose();
    }
    assert.ok(existsSync(path.join(out, 'model.json')), 'at least one save completed');
  });

  test('Ctrl-C during training: stops after the batch, saves the last complete epoch, exits nonzero saying where', async () => {
    const dir = tempDir();
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 30, size: 32 });
    const out = path.join(dir, 'model');
    const child = spawn(process.execPath, [CLI, 'train', data, ...TINY_BASE, '--strategy', 'full', '--epochs', '500', '--batch-size', '4', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => {
      const check = () => (/Epoch 2\/500/.test(stderr) ? resolve() : setTimeout(check, 50));
      check();
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 1, stderr);
    assert.match(stderr, /stopping after this batch/);
    assert.match(stderr, /stopped: interrupted in epoch \d+; saved the weights of epoch \d+ to /);
    const { model, metadata } = await loadModel(out);
    assert.equal(metadata.classNames?.length, 2);
    model.dispose();
  });
});

describe('leaks and long runs', () => {
  test('100 epochs on cached features: the tensor count after epoch 2 equals the count after epoch 100', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 4, size: 32 });
    const counts: number[] = [];
    await trainImageClassifier(data, {
      base: 'mobilenet',
      alpha: 0.25,
      weights: null,
      inputSize: 32,
      epochs: 100,
      onEvent: (e) => e.type === 'epoch' && counts.push(tf.memory().numTensors),
    });
    assert.equal(counts.length, 100);
    assert.equal(counts[99], counts[1]);
  });

  for (const engine of ['ort', 'wasm'] as const) {
    test(`1,000 predict calls (${engine}): the tensor count stays flat`, async () => {
      await initBackend('wasm');
      const model = await applications
        .getApplication('mobilenet')
        .build({ weights: null, includeTop: false, inputShape: [32, 32, 3], alpha: 0.25, pooling: 'avg' });
      const predictor = await createPredictor(model, { engine });
      const x = new Float32Array(32 * 32 * 3).fill(0.5);
      await predictor.predict(x, 1);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 1000; i++) await predictor.predict(x, 1);
      assert.equal(tf.memory().numTensors, before);
      await predictor.dispose();
      model.dispose();
    });
  }
});
