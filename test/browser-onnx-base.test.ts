// ONNX bases in Chromium, read by Node's code: a Transformers.js folder (Hugging Face ViT, torch 2's dynamo
// exporter) picked as a folder and a lone .onnx file (timm EfficientNet, TorchScript exporter), both made by
// test/python/export_hub.py in the torch 2 venv as hub-exports.test.ts makes them; the page's features equal
// Node's (1e-5 relative to the largest), its preprocessing and feature value are Node's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { graphPredictor } from '../src/engine/graph-predictor.js';
import { type OnnxBase, encodeBase, loadOnnxBase } from '../src/engine/onnx-base.js';
import { noChromium, withPage } from './browser.js';
import { ROOT, tempDir } from './helpers.js';
import { type StaticServer, serveStatic } from './static-server.js';
import { onnxFeatures, onnxFineTune, onnxHead } from '../src/browser/onnx-base.js';
import { optimizerSpec } from '../src/engine/optimizers.js';
import { initBackend } from '../src/engine/backend.js';
import { type StepOutcome, onnxStepOnce } from './web-step.js';
import { maxRelative } from './relative.js';

const WEB = path.join(ROOT, 'dist', 'web');
const PYTHON = path.join(ROOT, '.venv-torch2', 'bin', 'python');
const skip = noChromium || (existsSync(PYTHON) ? false : '.venv-torch2 (torch 2, timm, transformers) is absent: browser ONNX bases not tested');

const f32 = (file: string) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4).slice();
};

/** What the page reads from the picked input `#id` (its files, or its first file alone) and its features on `pixels`. */
const inPage = (id: string, whole: boolean, pixels: Float32Array) => `(async () => {
  const lib = globalThis.transferkit;
  await lib.configureOnnxRuntime({ wasmPaths: new URL('./ort/', location.href).href });
  const files = document.getElementById(${JSON.stringify(id)}).files;
  const base = await lib.onnxBase(${whole ? 'files' : 'files[0]'});
  const predictor = await lib.onnxFeatures(base);
  const features = Array.from(await predictor.predict(Float32Array.from(${JSON.stringify(Array.from(pixels))}), 2));
  await predictor.dispose();
  return { id: base.id, preprocessing: base.preprocessing, features: base.features, labels: base.labels ?? null, sha256: base.sha256, rows: features };
})()`;

interface PageBase {
  id: string;
  preprocessing: OnnxBase['preprocessing'];
  features: OnnxBase['features'];
  labels: string[] | null;
  sha256: string;
  rows: number[];
}

async function nodeFeatures(base: OnnxBase, pixels: Float32Array): Promise<Float32Array> {
  const { size } = base.preprocessing;
  const p = await graphPredictor(encodeBase(base), { imageShape: [size, size, 3], label: base.file });
  try {
    return await p.predict(pixels, 2);
  } finally {
    await p.dispose();
  }
}

describe('ONNX bases in the browser: the same graph, preprocessing and features as Node', { skip }, () => {
  let server: StaticServer;
  let dir: string;
  before(async () => {
    dir = tempDir('tk-web-onnx-');
    const r = spawnSync(PYTHON, [path.join(ROOT, 'test', 'python', 'export_hub.py'), dir, 'hf-vit:dynamo', 'timm-efficientnet:ts'], {
      cwd: path.join(ROOT, 'test', 'python'),
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(r.status, 0, r.stderr);
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  async function compare(id: string, pick: string, whole: boolean, node: OnnxBase, pixels: Float32Array): Promise<PageBase> {
    const page = await withPage(async (p) => {
      await p.goto(server.url);
      await p.setInputFiles(id, pick);
      return (await p.evaluate(inPage(id.slice(1), whole, pixels))) as PageBase;
    });
    const want = await nodeFeatures(node, pixels);
    assert.deepEqual(page.preprocessing, node.preprocessing);
    assert.deepEqual(page.features, node.features);
    assert.equal(page.sha256, node.sha256);
    const gap = maxRelative(page.rows, want);
    process.stderr.write(
      `${node.id}: page's features vs Node's: ${gap.toExponential(2)} of the largest (${want.length} values, from ${node.features.value})\n`,
    );
    assert.ok(gap <= 1e-5, `features differ from Node's by ${gap}`);
    return page;
  }

  it('a Transformers.js folder (Hugging Face ViT, dynamo export) picked as a folder', async () => {
    const folder = path.join(dir, 'hf-vit-dynamo');
    const node = loadOnnxBase(folder);
    const page = await compare('#folder', folder, true, node, f32(path.join(folder, 'pixels.f32')));
    assert.equal(page.id, 'hf-vit-dynamo');
    assert.deepEqual(page.labels, node.labels ?? null);
    // And PyTorch's own features of those pixels (export_hub.py wrote them), as hub-exports.test.ts checks in Node.
    assert.ok(maxRelative(page.rows, f32(path.join(folder, 'features.f32'))) < 1e-4);
  });

  it('a lone .onnx file (timm EfficientNet, TorchScript export): the graph says the size, ImageNet the normalisation', async () => {
    const alone = path.join(tempDir('tk-web-onnx-file-'), 'efficientnet.onnx');
    copyFileSync(path.join(dir, 'timm-efficientnet-ts', 'onnx', 'model.onnx'), alone);
    const node = loadOnnxBase(alone);
    const page = await compare('#weights', alone, false, node, f32(path.join(dir, 'timm-efficientnet-ts', 'pixels.f32')));
    assert.equal(page.id, 'efficientnet');
  });

  it("one fine-tuning step of the last block and a head (Node's grad rules and graph step) equals Node's (1e-5 relative)", async () => {
    await initBackend();
    const folder = path.join(dir, 'hf-vit-dynamo');
    const pixels = f32(path.join(folder, 'pixels.f32'));
    const inNode = await onnxStepOnce({ onnxFeatures, onnxHead, onnxFineTune, optimizerSpec }, loadOnnxBase(folder), pixels);
    const inPage = await withPage(async (p) => {
      await p.goto(server.url);
      await p.setInputFiles('#folder', folder);
      return (await p.evaluate(`(async () => {
        const lib = globalThis.transferkit;
        await lib.configureOnnxRuntime({ wasmPaths: new URL('./ort/', location.href).href });
        const base = await lib.onnxBase(document.getElementById('folder').files);
        return (${onnxStepOnce.toString()})(lib, base, Float32Array.from(${JSON.stringify(Array.from(pixels))}));
      })()`)) as StepOutcome & { block: string };
    });
    assert.equal(inPage.block, inNode.block);
    assert.equal(inPage.weights.length, inNode.weights.length);
    assert.ok(inNode.weights.length > 2, 'only the head trained');
    assert.ok(maxRelative([inPage.loss], [inNode.loss]) <= 1e-5, `loss ${inPage.loss} vs ${inNode.loss}`);
    const worst = Math.max(...inNode.weights.map((w, i) => maxRelative(inPage.weights[i], w)));
    process.stderr.write(
      `ONNX fine-tune step from ${inNode.block}: loss ${inPage.loss} vs ${inNode.loss}; worst of ${inNode.weights.length} tensors ${worst.toExponential(2)} relative\n`,
    );
    assert.ok(worst <= 1e-5, `trained weights differ by ${worst} relative`);
  });

  it('a folder with no model in it is one line naming it', async () => {
    const folder = path.join(dir, 'hf-vit-dynamo');
    const message = await withPage(async (p) => {
      await p.goto(server.url);
      await p.setInputFiles('#folder', path.join(folder, 'onnx'));
      return p.evaluate(
        `globalThis.transferkit.onnxBase([...document.getElementById('folder').files].filter((f) => !f.name.endsWith('.onnx'))).then(() => 'read', (e) => e.message)`,
      );
    });
    assert.equal(message, 'the picked files: no ONNX model there; pick a .onnx file, or a folder with onnx/model.onnx (Transformers.js layout) or model.onnx');
  });
});
