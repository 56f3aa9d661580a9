import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { listImageFiles } from '../src/data/folders.js';
import { createPredictor } from '../src/engine/predictor.js';
import { addClass } from '../src/heads/add-class.js';
import { loadModel, sourceOf } from '../src/train/saved/saved-model.js';
import { CIFAR_DIR, MOBILENET_H5, cli, needsShared, tempDir } from './helpers.js';

/** CIFAR-10 test images `from`–`to` of a class, linked into `dir` (JPEGs that the model's 96×96 enlarges). */
function link(dir: string, cls: string, from: number, to: number): string {
  mkdirSync(dir, { recursive: true });
  for (let i = from; i < to; i++) {
    const name = `${String(i).padStart(4, '0')}.jpg`;
    symlinkSync(path.join(CIFAR_DIR, cls, name), path.join(dir, name));
  }
  return dir;
}

/** add-class of `folder` (70 birds and a broken file) to `model` into `grownDir`, checked image by image. */
async function checkAdded(model: string, folder: string, grownDir: string, decodeThreads: number): Promise<void> {
  const result = await addClass(model, folder, { out: grownDir, decodeThreads });
  assert.deepEqual(result.classNames, ['airplane', 'frog', 'bird']);
  assert.equal(result.added.images, 70);
  assert.deepEqual(
    result.skipped.map((s) => path.basename(s.file)),
    ['0030-broken.jpg'],
  );

  // Each image's unit embedding, one at a time, is the stored column in its place, and differs from its
  // neighbours' (so a swap would be seen).
  const { model: grown, metadata } = await loadModel(grownDir);
  const norm = grown.layers.findIndex((l) => l.getClassName() === 'UnitNormalization');
  const dense = grown.layers[norm + 1];
  const kernel = dense.getWeights()[0];
  const [, n] = kernel.shape;
  const stored = kernel.dataSync();
  const labels = grown.layers[norm + 2].getConfig().labels as number[];
  assert.equal(labels.length, n);
  assert.deepEqual(labels.slice(n - 70), new Array(70).fill(2));
  const files = (await listImageFiles([folder])).filter((f) => !f.endsWith('broken.jpg'));
  const source = sourceOf(metadata);
  const predictor = await createPredictor(grown, { until: dense.name });
  const distance = (a: Float32Array, column: number) => Math.max(...Array.from(a, (v, d) => Math.abs(stored[d * n + column] - v)));
  try {
    for (const [i, file] of files.entries()) {
      const embedding = await predictor.predict(source.preprocess(await source.decode(file, 96, 96)), 1);
      const column = n - 70 + i;
      const name = path.basename(file);
      assert.ok(distance(embedding, column) < 1e-4, `${name}: stored column ${column} differs by ${distance(embedding, column)}`);
      assert.ok(distance(embedding, i ? column - 1 : column + 1) > 1e-2, `${name} looks like its neighbour`);
    }
  } finally {
    await predictor.dispose();
  }
}

describe('add-class', { skip: needsShared(MOBILENET_H5) || needsShared(CIFAR_DIR) }, () => {
  test("stores every new image's embedding, in file order, across batches, skipping only the broken file", async () => {
    const dir = tempDir();
    const data = path.join(dir, 'pair');
    for (const cls of ['airplane', 'frog']) link(path.join(data, cls), cls, 0, 20);
    const model = path.join(dir, 'knn');
    const base = ['--base', 'mobilenet', '--alpha', '0.25', '--weights', MOBILENET_H5, '--input-size', '96'];
    const r = cli(['train', data, ...base, '--head', 'knn:3', '--out', model]);
    assert.equal(r.code, 0, r.stderr);
    // 70 birds (more than one batch of 64): 69 JPEGs, one PNG (through sharp), and a broken file among them.
    const folder = link(path.join(dir, 'new', 'bird'), 'bird', 0, 69);
    await sharp(path.join(CIFAR_DIR, 'bird', '0069.jpg'))
      .png()
      .toFile(path.join(folder, '0069.png'));
    writeFileSync(path.join(folder, '0030-broken.jpg'), 'not a JPEG');
    // Decoded here (the default on 2 cores) and in a decoding thread (the default from 4 cores up).
    for (const decodeThreads of [0, 1]) await checkAdded(model, folder, path.join(dir, `grown-${decodeThreads}`), decodeThreads);
  });
});
