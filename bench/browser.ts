// `npm run bench -- --only=browser`: one MobileNet fine-tune step (α 0.25, the real weights, 96×96, the last block
// conv_dw_13 + a new head, batch 8, SGD) in headless Chromium on ONNX Runtime Web (WebAssembly, SIMD and threads in a
// cross-origin isolated page), beside the same step on onnxruntime-node in this process and TensorFlow.js's own
// training (tfjs-layers' trainOnBatch of the same layers) in the same page, on each tfjs backend that runs there.
// The sides take turns, round after round; each side's range is that of its round medians, each ratio's that of
// the rounds' ratios (bench/spread.ts).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Page } from 'playwright-core';
import { mobilenet } from '../src/applications/index.js';
import { addHead, createTrainer } from '../src/index.js';
import { optimizerSpec } from '../src/engine/optimizers.js';
import { seededRandom } from '../src/util/random.js';
import { scratchDir } from '../src/util/fs.js';
import { withPage } from '../test/browser.js';
import { serveStatic } from '../test/static-server.js';
import { SETTLE_MS } from './peer.js';
import type { StepSetup } from './browser-page.js';
import { type Spread, spreadOf } from './spread.js';

const SETUP: StepSetup = { size: 96, alpha: 0.25, from: 'conv_dw_13', batch: 8, lr: 0.05, threads: 2 };

export interface BrowserSide {
  engine: string;
  /** Each round's median step (ms). */
  rounds: number[];
  spread: Spread | null;
  note?: string;
}

export interface BrowserBench {
  workload: string;
  setup: StepSetup;
  crossOriginIsolated: boolean;
  chromium: string;
  sides: BrowserSide[];
  /** Per round, side b's time over side a's: the median and range of those ratios. */
  ratios: Array<{ name: string; median: number; range: [number, number] }>;
  /** WebGPU's adapter in the page, or why there is none. */
  webgpu: string;
  /** WebGL's renderer (tfjs webgl's device). */
  webgl: string;
  method: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => spreadOf(xs).median;

/** The page's bundle (the library with its browser twins, tfjs-backend-wasm) and the WebAssembly files beside it. */
async function pageDir(root: string): Promise<string> {
  const dir = scratchDir('transferkit-browser-bench-');
  await build({
    entryPoints: [path.join(root, 'dist', 'bench', 'browser-page.js')],
    bundle: true,
    platform: 'browser',
    mainFields: ['module', 'main'],
    format: 'esm',
    outfile: path.join(dir, 'bench.js'),
    conditions: ['onnxruntime-web-use-extern-wasm'],
    logLevel: 'error',
  });
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><input type="file" id="weights"><script type="module" src="bench.js"></script>\n');
  const copy = (from: string, to: string, files: string[]) => {
    mkdirSync(path.join(dir, to), { recursive: true });
    for (const f of files) copyFileSync(path.join(root, 'node_modules', from, f), path.join(dir, to, f));
  };
  copy('onnxruntime-web/dist', 'ort', ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']);
  copy('@tensorflow/tfjs-backend-wasm/dist', 'tfjs', ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']);
  return dir;
}

/** The same step in Node: the model built by the Node library from the same file, onnxruntime-node. */
async function nodeStep(weights: string): Promise<{ step: () => Promise<unknown>; dispose: () => Promise<void> }> {
  const s = SETUP;
  const base = await mobilenet({ weights, includeTop: false, inputShape: [s.size, s.size, 3], alpha: s.alpha });
  const model = addHead(base, 'gap, dropout:0.5, dense:1:sigmoid', { seed: 7 });
  const trainer = await createTrainer(model, { engine: 'ort', from: s.from, loss: 'binary_crossentropy', optimizer: optimizerSpec('sgd'), seed: 3 });
  const shape = (base.getLayer(s.from).input as tfl.SymbolicTensor).shape as number[];
  const random = seededRandom(11);
  const x = Float32Array.from({ length: s.batch * shape.slice(1).reduce((a, b) => a * b, 1) }, () => random() * 6);
  const y = Float32Array.from({ length: s.batch }, (_, i) => i % 2);
  return { step: () => trainer.step(x, y, s.batch, s.lr), dispose: () => trainer.dispose() };
}

/** Whether tfjs's backend trains here: one step, or the first line of why not. */
async function probe(page: Page, backend: string): Promise<string | null> {
  return page.evaluate(
    `globalThis.bench.tfjsTurn(${JSON.stringify(backend)}, 1, 1).then(() => null, (e) => String(e && e.message || e).split('\\n')[0])`,
  ) as Promise<string | null>;
}

/** One round's turn of each side, in order, with a pause between: each side's median (ms). */
async function round(page: Page, node: () => Promise<unknown>, backends: string[], reps: number): Promise<number[]> {
  const out: number[] = [];
  out.push(median((await page.evaluate(`globalThis.bench.ortTurn(${reps})`)) as number[]));
  for (const b of backends) {
    await sleep(SETTLE_MS);
    out.push(median((await page.evaluate(`globalThis.bench.tfjsTurn(${JSON.stringify(b)}, ${reps})`)) as number[]));
  }
  await sleep(SETTLE_MS);
  const t: number[] = [];
  await node();
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await node();
    t.push(performance.now() - start);
  }
  out.push(median(t));
  await sleep(SETTLE_MS);
  return out;
}

/**
 * Chromium's flags: WebGL on SwiftShader (headless has no GPU here; tfjs's webgl backend then runs on the CPU), and
 * WebGPU asked for (unsafe: Linux ships it disabled) on SwiftShader's Vulkan.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

export async function browserBench(root: string, weights: string, o: { rounds: number; reps: number }): Promise<BrowserBench> {
  const dir = await pageDir(root);
  const server = await serveStatic(dir);
  const node = await nodeStep(weights);
  try {
    const measured = await withPage(
      async (page) => {
        await page.goto(server.url);
        await page.setInputFiles('#weights', weights);
        const ready = (await page.evaluate(`globalThis.bench.prepare(document.getElementById('weights').files[0], ${JSON.stringify(SETUP)})`)) as {
          isolated: boolean;
          backends: string[];
          webgpu: string;
          webgl: string;
        };
        const sides: BrowserSide[] = [{ engine: 'transferkit, onnxruntime-web wasm (Chromium)', rounds: [], spread: null }];
        const running: string[] = [];
        for (const b of ready.backends) {
          const why = await probe(page, b);
          sides.push({ engine: `tfjs ${b} trainOnBatch (Chromium)`, rounds: [], spread: null, ...(why ? { note: why } : {}) });
          if (!why) running.push(b);
        }
        const timedSides = [sides[0], ...sides.filter((s) => !s.note).slice(1), { engine: 'transferkit, onnxruntime-node (Node)', rounds: [], spread: null }];
        for (let r = 0; r < o.rounds; r++) (await round(page, node.step, running, o.reps)).forEach((ms, i) => timedSides[i].rounds.push(ms));
        const version = page.context().browser()?.version() ?? '?';
        return { isolated: ready.isolated, sides: [...sides.filter((s) => s.note), ...timedSides], version, webgpu: ready.webgpu, webgl: ready.webgl };
      },
      { args: ARGS },
    );
    for (const s of measured.sides) s.spread = s.rounds.length ? spreadOf(s.rounds) : null;
    const web = measured.sides.find((s) => s.engine.includes('onnxruntime-web')) as BrowserSide;
    const ratio = (name: string, a: BrowserSide, b: BrowserSide) => {
      const rs = a.rounds.map((t, i) => b.rounds[i] / t);
      const s = spreadOf(rs);
      return { name, median: s.median, range: [s.min, s.max] as [number, number] };
    };
    const ratios = measured.sides
      .filter((s) => s !== web && s.rounds.length)
      .map((s) => (s.engine.includes('onnxruntime-node') ? ratio('browser wasm step / Node step', s, web) : ratio(`${s.engine} / browser wasm step`, web, s)));
    return {
      workload: `mobilenet α${SETUP.alpha} ${SETUP.size}x${SETUP.size}, train ${SETUP.from} + head, b${SETUP.batch} sgd (real weights)`,
      setup: SETUP,
      crossOriginIsolated: measured.isolated,
      chromium: measured.version,
      sides: measured.sides,
      ratios,
      webgpu: measured.webgpu,
      webgl: measured.webgl,
      method: `${o.rounds} rounds; in each, every side takes a turn of ${o.reps} timed steps after one warm-up step (its median kept), a ${SETTLE_MS} ms pause between turns; ${SETUP.threads} threads for ONNX Runtime (web and Node) and tfjs-wasm`,
    };
  } finally {
    await node.dispose();
    server.close();
  }
}
