// Training on an ONNX base in the page, as Node's `train --base FOLDER` trains: a Transformers.js folder (a small
// Hugging Face ViT exported by torch 2's dynamo exporter, test/python/export_hub.py in the torch 2 venv) picked in
// the page's ONNX-folder picker, two CIFAR-10 classes picked as the data; Train's validation accuracy against
// Node's trainImageClassifier on the same files and split (within a point), feature extraction and a fine-tune of
// the last block; the downloaded model folder read by Node predicts as the page's model does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { resolveBase, trainImageClassifier } from '../src/index.js';
import { noChromium, withPage } from './browser.js';
import { CIFAR_DIR, ROOT, cli, needsShared, tempDir } from './helpers.js';
import { download, onnxOutputs } from './web-downloads.js';
import { loadModel } from '../src/train/saved/saved-model.js';
import { mergedPredictor } from '../src/train/model/onnx-base.js';
import { type StaticServer, serveStatic } from './static-server.js';
import { PAIR, pairFolder } from './web-pair.js';

const WEB = path.join(ROOT, 'dist', 'web');
const PYTHON = path.join(ROOT, '.venv-torch2', 'bin', 'python');
const skip =
  noChromium ||
  needsShared(path.join(CIFAR_DIR, PAIR[1])) ||
  (existsSync(PYTHON) ? false : '.venv-torch2 (torch 2, transformers) is absent: training on an ONNX base in the page not tested');

/** Picks the ONNX folder and the data, sets the fine-tune field, clicks Train; the page's accuracy and log. */
async function trainInPage(page: Page, url: string, model: string, data: string, unfreeze: string): Promise<{ accuracy: number; log: string }> {
  await page.goto(url);
  await page.setInputFiles('#onnx-folder', model);
  await page.setInputFiles('#folder', data);
  await page.fill('#unfreeze-from', unfreeze);
  await page.click('#train');
  await page.waitForFunction(() => document.getElementById('val-accuracy')?.textContent !== '–', undefined, { timeout: 400_000 });
  const log = (await page.textContent('#log')) ?? '';
  const shown = (await page.textContent('#val-accuracy')) ?? '';
  assert.match(shown, /^[\d.]+$/, log);
  return { accuracy: Number(shown), log };
}

describe('training on an ONNX base in the page (static build in Chromium) reaches Node’s accuracy', { skip }, () => {
  let server: StaticServer;
  let model: string;
  let data: string;
  /** base.onnx of the feature-extraction run's download: the base as picked. */
  let pickedBase: Uint8Array | undefined;
  before(async () => {
    const dir = tempDir('tk-web-onnx-train-');
    const r = spawnSync(PYTHON, [path.join(ROOT, 'test', 'python', 'export_hub.py'), dir, 'hf-vit:dynamo'], {
      cwd: path.join(ROOT, 'test', 'python'),
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(r.status, 0, r.stderr);
    model = path.join(dir, 'hf-vit-dynamo');
    data = pairFolder();
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  it('feature extraction: the same validation accuracy as Node (within a point); the downloads an ONNX base has', async () => {
    const node = await trainImageClassifier(data, { base: model });
    const page = await withPage(async (p) => {
      const run = await trainInPage(p, server.url, model, data, '');
      const files = { folder: await download(p, 'download-folder'), onnx: await download(p, 'download-onnx') };
      const hidden = await p.evaluate(() =>
        ['download', 'download-tfjs', 'download-folder', 'download-onnx'].map((id) => document.getElementById(id)?.parentElement?.hidden),
      );
      return { ...run, hidden, files };
    });
    process.stderr.write(`ONNX base, feature extraction on ${PAIR.join('/')}: page ${page.accuracy}, Node ${node.val.accuracy}\n`);
    assert.match(page.log, /ONNX base hf-vit-dynamo: 32×32 pixels/);
    assert.ok(Math.abs(page.accuracy - (node.val.accuracy as number)) <= 0.01, `page ${page.accuracy} vs Node ${node.val.accuracy}\n${page.log}`);
    assert.deepEqual(page.hidden, [true, true, false, false], 'an ONNX base offers the model folder and the ONNX graph only');
    // The downloads in Node: the folder (head beside base.onnx) and the merged graph give the same probabilities,
    // and `transferkit predict` reads the folder and labels two held-out test images.
    const saved = await loadModel(page.files.folder);
    assert.deepEqual(saved.metadata.classNames, PAIR);
    pickedBase = saved.onnxBase;
    const x = Float32Array.from({ length: 4 * 32 * 32 * 3 }, (_, i) => (i * 53) % 256);
    const merged = await mergedPredictor(saved.onnxBase as Uint8Array, saved.model, { imageShape: [32, 32, 3], label: 'folder' });
    const fromFolder = Array.from(await merged.predict(x, 4));
    await merged.dispose();
    const fromOnnx = await onnxOutputs(page.files.onnx, x, 32);
    assert.ok(Math.max(...fromFolder.map((v, i) => Math.abs(v - fromOnnx[i]))) <= 1e-5, `${fromFolder} vs ${fromOnnx}`);
    const images = PAIR.map((c) => path.join(data, c, readdirSync(path.join(data, c)).sort()[0]));
    const r = cli(['predict', page.files.folder, ...images, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 2);
  });

  it('a fine-tune of the last block (the fine-tune field: 1) as Node’s --unfreeze-last-blocks 1 (within a point)', async () => {
    const node = await trainImageClassifier(data, resolveBase({ base: model, strategy: 'fine-tune', unfreezeLastBlocks: 1 }).options);
    const page = await withPage(async (p) => ({ ...(await trainInPage(p, server.url, model, data, '1')), folder: await download(p, 'download-folder') }));
    const nodeFt = node.val.accuracy;
    process.stderr.write(`ONNX base, last block fine-tuned on ${PAIR.join('/')}: page ${page.accuracy}, Node ${nodeFt}\n${page.log}\n`);
    assert.match(page.log, /fine-tuning .* from /);
    assert.match(page.log, /phase 2 \(from /);
    assert.ok(Math.abs(page.accuracy - (nodeFt as number)) <= 0.01, `page ${page.accuracy} vs Node ${nodeFt}\n${page.log}`);
    // The download keeps the fine-tuned suffix: its base.onnx is not the base as picked (Node's train writes the same).
    const saved = await loadModel(page.folder);
    assert.ok(saved.onnxBase && pickedBase, 'both downloads hold a base.onnx');
    assert.ok(
      Buffer.compare(Buffer.from(saved.onnxBase), Buffer.from(pickedBase)) !== 0,
      "the fine-tune's download holds the base as picked, not its trained suffix",
    );
  });
});
