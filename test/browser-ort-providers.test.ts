// configureOnnxRuntime's executionProviders in Chromium: asking for WebGPU then WebAssembly where the browser has
// no WebGPU adapter (headless Chromium without --enable-unsafe-webgpu) keeps WebAssembly with a notice, not an
// error, and the sessions still run (an ONNX base's features equal Node's).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { graphPredictor } from '../src/engine/graph-predictor.js';
import { encodeBase, loadOnnxBase } from '../src/engine/onnx-base.js';
import { noChromium, withPage } from './browser.js';
import { ROOT, tempDir } from './helpers.js';
import { foreignModel } from './onnx-fixtures.js';
import { type StaticServer, serveStatic } from './static-server.js';
import { relative } from './web-step.js';

const WEB = path.join(ROOT, 'dist', 'web');

describe('ONNX Runtime Web execution providers in the page', { skip: noChromium }, () => {
  let server: StaticServer;
  before(async () => {
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  it('webgpu where the browser has none falls back to wasm with a notice, and the sessions run', async () => {
    const file = path.join(tempDir('tk-web-eps-'), 'model.onnx');
    await foreignModel(file, 16, 3);
    const pixels = Float32Array.from({ length: 2 * 16 * 16 * 3 }, (_, i) => (i * 37) % 256);
    const page = (await withPage(async (p) => {
      await p.goto(server.url);
      await p.setInputFiles('#weights', file);
      return p.evaluate(`(async () => {
        const lib = globalThis.transferkit;
        const chosen = await lib.configureOnnxRuntime({ wasmPaths: new URL('./ort/', location.href).href, executionProviders: ['webgpu', 'wasm'] });
        const base = await lib.onnxBase(document.getElementById('weights').files[0]);
        const predictor = await lib.onnxFeatures(base);
        const rows = Array.from(await predictor.predict(Float32Array.from(${JSON.stringify(Array.from(pixels))}), 2));
        await predictor.dispose();
        return { chosen, rows, gpu: 'gpu' in navigator };
      })()`);
    })) as { chosen: { executionProviders: string[]; notice?: string }; rows: number[]; gpu: boolean };
    assert.deepEqual(page.chosen.executionProviders, ['wasm']);
    assert.match(page.chosen.notice ?? '', /^WebGPU is not available in this browser \((no adapter|no navigator\.gpu)\): ONNX Runtime runs on WebAssembly$/);
    const base = loadOnnxBase(file);
    const p = await graphPredictor(encodeBase(base), { imageShape: [16, 16, 3], label: file });
    const want = await p.predict(pixels, 2);
    await p.dispose();
    process.stderr.write(`${page.chosen.notice}; features vs Node's: ${relative(page.rows, want).toExponential(2)}\n`);
    assert.ok(relative(page.rows, want) <= 1e-5);
  });
});
