// The page's downloads read back in Node: each format the page offers (a Keras file, the transferkit folder and
// the tfjs model as zips, ONNX) must give the page's probabilities on a seeded batch (within 1e-5), and
// `transferkit predict` must read the Keras file and the folders and label two test images right.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { createPredictor } from '../src/engine/predictor.js';
import { loadOrt } from '../src/engine/ort-runtime.js';
import { loadModel } from '../src/train/saved/saved-model.js';
import { seededRandom } from '../src/util/random.js';
import { cli, tempDir } from './helpers.js';

/** The seeded batch both sides score: n images of size×size×3 in [-1, 1] (already preprocessed). */
const SEEDED = { seed: 5, n: 4 };
const seededBatch = (size: number) => {
  const random = seededRandom(SEEDED.seed);
  return Float32Array.from({ length: SEEDED.n * size * size * 3 }, () => random() * 2 - 1);
};

/** Saves the download behind the link `#id` into a fresh folder; a zip is unpacked there. */
export async function download(page: Page, id: string): Promise<string> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(`#${id}`)]);
  const dir = tempDir('tk-web-download-');
  const file = path.join(dir, d.suggestedFilename());
  await d.saveAs(file);
  if (!file.endsWith('.zip')) return file;
  for (const [name, bytes] of Object.entries(unzipSync(readFileSync(file)))) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), bytes);
  }
  return file.replace(/\.zip$/, '');
}

/** The ONNX file's outputs in onnxruntime-node on the seeded batch. */
export async function onnxOutputs(file: string, x: Float32Array, size: number): Promise<number[]> {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(file);
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [SEEDED.n, size, size, 3]) });
    return Array.from(out[session.outputNames[0]].data as Float32Array);
  } finally {
    await session.release();
  }
}

/**
 * Downloads every format from the page after training and checks each in Node against the page's own
 * probabilities; `images` are one test image per class, in class order.
 */
export async function checkDownloads(page: Page, o: { size: number; classNames: string[]; images: string[] }): Promise<void> {
  const x = seededBatch(o.size);
  const inPage = (await page.evaluate(`(async () => {
    const random = globalThis.transferkit.seededRandom(${SEEDED.seed});
    const x = Float32Array.from({ length: ${SEEDED.n * o.size * o.size * 3} }, () => random() * 2 - 1);
    return Array.from(await globalThis.predictTrained(x, ${SEEDED.n}));
  })()`)) as number[];
  for (const [id, kind] of [
    ['download', 'keras'],
    ['download-folder', 'folder'],
    ['download-tfjs', 'tfjs'],
    ['download-onnx', 'onnx'],
  ] as const) {
    const file = await download(page, id);
    let inNode: number[];
    if (kind === 'onnx') inNode = await onnxOutputs(file, x, o.size);
    else {
      const saved = await loadModel(file);
      assert.deepEqual(saved.metadata.classNames, o.classNames, `${kind}: class names`);
      const predictor = await createPredictor(saved.model, { engine: 'ort' });
      inNode = Array.from(await predictor.predict(x, SEEDED.n));
      await predictor.dispose();
      // As a user runs it: the CLI reads the model with its metadata (class names, preprocessing, size).
      const r = cli(['predict', file, ...o.images, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const labels = (JSON.parse(r.stdout) as Array<{ label: string }>).map((p) => p.label);
      assert.deepEqual(labels, o.classNames, `${kind}: transferkit predict's labels`);
    }
    const gap = Math.max(...inNode.map((p, i) => Math.abs(p - inPage[i])));
    process.stderr.write(`download ${kind} (${path.basename(file)}): largest difference from the page ${gap.toExponential(2)}\n`);
    assert.equal(inNode.length, inPage.length, `${kind}: output size`);
    assert.ok(gap <= 1e-5, `the ${kind} download's probabilities in Node differ from the page's by ${gap}`);
  }
}
