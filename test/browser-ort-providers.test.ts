// configureOnnxRuntime's executionProviders in Chromium: asking for WebGPU then WebAssembly where the browser has
// no WebGPU adapter (headless Chromium without --enable-unsafe-webgpu) keeps WebAssembly with a notice, not an
// error, and the sessions still run (an ONNX base's features equal Node's).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { graphPredictor } from '../src/engine/graph-predictor.js';
import { encodeBase, loadOnnxBase } from '../src/engine/onnx-base.js';
import { ARGS } from '../bench/browser.js';
import { noChromium, withPage } from './browser.js';
import { ROOT, tempDir } from './helpers.js';
import { foreignModel } from './onnx-fixtures.js';
import { type StaticServer, serveStatic } from './static-server.js';
import { maxRelative } from './relative.js';

const WEB = path.join(ROOT, 'dist', 'web');

describe('ONNX Runtime Web execution providers in the page', { skip: noChromium }, () => {
  let server: StaticServer;
  before(async () => {
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  /** configureOnnxRuntime with webgpu then wasm in a page started with `args`; an ONNX base's features there and in Node. */
  async function featuresWith(args: string[]) {
    const file = path.join(tempDir('tk-web-eps-'), 'model.onnx');
    await foreignModel(file, 16, 3);
    const pixels = Float32Array.from({ length: 2 * 16 * 16 * 3 }, (_, i) => (i * 37) % 256);
    const page = (await withPage(
      async (p) => {
        await p.goto(server.url);
        await p.setInputFiles('#weights', file);
        return p.evaluate(`(async () => {
        const lib = globalThis.transferkit;
        const chosen = await lib.configureOnnxRuntime({ wasmPaths: new URL('./ort/', location.href).href, executionProviders: ['webgpu', 'wasm'] });
        const base = await lib.onnxBase(document.getElementById('weights').files[0]);
        const predictor = await lib.onnxFeatures(base);
        const rows = Array.from(await predictor.predict(Float32Array.from(${JSON.stringify(Array.from(pixels))}), 2));
        await predictor.dispose();
        return { chosen, rows };
      })()`);
      },
      { args },
    )) as { chosen: { executionProviders: string[]; notice?: string }; rows: number[] };
    const p = await graphPredictor(encodeBase(loadOnnxBase(file)), { imageShape: [16, 16, 3], label: file });
    const want = await p.predict(pixels, 2);
    await p.dispose();
    return { ...page.chosen, gap: maxRelative(page.rows, want) };
  }

  it('webgpu where the browser has none falls back to wasm with a notice, and the sessions run', async () => {
    const r = await featuresWith(['--headless', '--no-sandbox', '--disable-gpu']);
    assert.deepEqual(r.executionProviders, ['wasm']);
    assert.match(r.notice ?? '', /^WebGPU is not available in this browser \((no adapter|no navigator\.gpu)\): ONNX Runtime runs on WebAssembly$/);
    process.stderr.write(`${r.notice}; features vs Node's: ${r.gap.toExponential(2)}\n`);
    assert.ok(r.gap <= 1e-5);
  });

  it('webgpu where the browser has an adapter (SwiftShader, as bench/browser.ts enables it) is kept, and the sessions run on it', async () => {
    const r = await featuresWith(ARGS);
    assert.deepEqual(r.executionProviders, ['webgpu', 'wasm']);
    assert.equal(r.notice, undefined);
    process.stderr.write(`WebGPU (SwiftShader): features vs Node's: ${r.gap.toExponential(2)}\n`);
    assert.ok(r.gap <= 1e-4);
  });
});
