// `npm run bench -- --only=browser`: one MobileNet fine-tune step (α 0.25, the real weights, 96×96, the last block
// conv_dw_13 + a new head, batch 8, SGD) in headless Chromium on ONNX Runtime Web (WebAssembly, SIMD and threads in a
// cross-origin isolated page), beside the same step on onnxruntime-node in this process and TensorFlow.js's own
// training (tfjs-layers' trainOnBatch of the same layers) in the same page, on each tfjs backend that runs there.
// The sides take turns, round after round; each side's range is that of its round medians, each ratio's that of
// the rounds' ratios (bench/spread.ts).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type BuildOptions, type Plugin, build } from 'esbuild';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Page } from 'playwright-core';
import { mobilenet } from '../src/applications/index.js';
import { addHead, createTrainer } from '../src/index.js';
import { optimizerSpec } from '../src/engine/optimizers.js';
import { seededRandom } from '../src/util/random.js';
import { scratchDir } from '../src/util/fs.js';
import { withPage } from '../test/browser.js';
import { maxRelative } from '../test/relative.js';
import { serveStatic } from '../test/static-server.js';
import { SETTLE_MS, timed } from './peer.js';
import type { FirstStep, StepSetup } from './browser-page.js';
import { type Spread, spreadOf } from './spread.js';

/** The steps timed: the last block and the head, at the batch the page trains with (32) and at 8. */
const SETUPS: StepSetup[] = [8, 32].map((batch) => ({ size: 96, alpha: 0.25, from: 'conv_dw_13', batch, lr: 0.05, threads: 2 }));

export interface BrowserSide {
  engine: string;
  /** Each round's median step (ms). */
  rounds: number[];
  spread: Spread | null;
  note?: string;
}

export interface StepBench {
  workload: string;
  setup: StepSetup;
  sides: BrowserSide[];
  /** Per round, one side's time over another's: the median and range of those ratios. */
  ratios: Array<{ name: string; median: number; range: [number, number] }>;
  /** The WebGPU page's first step against the wasm page's: relative gaps of the loss and of the worst weight tensor. */
  webgpuVsWasm?: { loss: number; worstWeights: number };
}

export interface BrowserBench {
  crossOriginIsolated: boolean;
  chromium: string;
  steps: StepBench[];
  /** An epoch of shuffled batches read from the page's feature stores (ms), and the file's time over memory's. */
  featureEpochs: typeof EPOCHS & { stores: BrowserSide[]; opfsOverMemory: StepBench['ratios'][number] };
  /** WebGPU's adapter in the page, or why there is none. */
  webgpu: string;
  /** WebGL's renderer (tfjs webgl's device). */
  webgl: string;
  method: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => spreadOf(xs).median;

/** The page's twin of ONNX Runtime swapped for bench/browser-ort-webgpu.ts: the page's WebGPU side. */
function webgpuOrt(root: string): Plugin {
  const twin = path.join(root, 'dist', 'bench', 'browser-ort-webgpu.js');
  return {
    name: 'ort-webgpu',
    setup(b) {
      b.onResolve({ filter: /ort-runtime\.js$/ }, (a) => (a.importer === twin ? undefined : { path: twin }));
    },
  };
}

/** The page's bundles (the library with its browser twins, tfjs's backends; once more on WebGPU) and the WebAssembly files beside them. */
async function pageDir(root: string): Promise<string> {
  const dir = scratchDir('transferkit-browser-bench-');
  const common: BuildOptions = {
    bundle: true,
    platform: 'browser',
    mainFields: ['module', 'main'],
    format: 'esm',
    conditions: ['onnxruntime-web-use-extern-wasm'],
    logLevel: 'error',
  };
  const page = path.join(root, 'dist', 'bench', 'browser-page.js');
  await build({ ...common, entryPoints: { bench: page, 'opfs-worker': path.join(root, 'dist', 'bench', 'browser-opfs-worker.js') }, outdir: dir });
  await build({ ...common, entryPoints: { 'bench-webgpu': page }, outdir: dir, plugins: [webgpuOrt(root)] });
  const html = (script: string) => `<!doctype html><input type="file" id="weights"><script type="module" src="${script}"></script>\n`;
  writeFileSync(path.join(dir, 'index.html'), html('bench.js'));
  writeFileSync(path.join(dir, 'webgpu.html'), html('bench-webgpu.js'));
  const copy = (from: string, to: string, files: string[]) => {
    mkdirSync(path.join(dir, to), { recursive: true });
    for (const f of files) copyFileSync(path.join(root, 'node_modules', from, f), path.join(dir, to, f));
  };
  const ort = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];
  copy('onnxruntime-web/dist', 'ort', ort);
  copy('@tensorflow/tfjs-backend-wasm/dist', 'tfjs', ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']);
  return dir;
}

/** The same step in Node: the model built by the Node library from the same file, onnxruntime-node. */
async function nodeStep(weights: string, s: StepSetup): Promise<{ step: () => Promise<unknown>; dispose: () => Promise<void> }> {
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

/** A side: its name, and one turn of it giving its median (ms). */
interface Turned {
  engine: string;
  turn: () => Promise<number>;
}

/** The sides' turns in order, round after round, a pause between turns: each side's round medians. */
async function alternate(sides: Turned[], rounds: number): Promise<BrowserSide[]> {
  const out: BrowserSide[] = sides.map((s) => ({ engine: s.engine, rounds: [], spread: null }));
  for (let r = 0; r < rounds; r++)
    for (const [i, s] of sides.entries()) {
      out[i].rounds.push(await s.turn());
      await sleep(SETTLE_MS);
    }
  for (const s of out) s.spread = spreadOf(s.rounds);
  return out;
}

/** Per round, `over`'s time over `under`'s: the median and range of those ratios. */
function ratioOf(name: string, over: BrowserSide, under: BrowserSide): StepBench['ratios'][number] {
  const s = spreadOf(over.rounds.map((t, i) => t / under.rounds[i]));
  return { name, median: s.median, range: [s.min, s.max] };
}

const pageMedian = async (page: Page, call: string) => median((await page.evaluate(`globalThis.bench.${call}`)) as number[]);

/** The step's sides: the page's ONNX Runtime step, each tfjs backend that trains (the others noted), Node's step. */
async function stepSides(page: Page, backends: string[], node: () => Promise<unknown>, reps: number): Promise<{ sides: Turned[]; failed: BrowserSide[] }> {
  const sides: Turned[] = [{ engine: 'transferkit, onnxruntime-web wasm (Chromium)', turn: () => pageMedian(page, `ortTurn(${reps})`) }];
  const failed: BrowserSide[] = [];
  for (const b of backends) {
    const engine = `tfjs ${b} trainOnBatch (Chromium)`;
    const why = await probe(page, b);
    if (why) failed.push({ engine, rounds: [], spread: null, note: why });
    else sides.push({ engine, turn: () => pageMedian(page, `tfjsTurn(${JSON.stringify(b)}, ${reps})`) });
  }
  sides.push({ engine: 'transferkit, onnxruntime-node (Node)', turn: () => timed(node, reps, 1) });
  return { sides, failed };
}

/** The same step on ONNX Runtime Web's WebGPU execution provider, in a second page of the same browser, or why it does not run. */
async function webgpuSide(page: Page, weights: string, setup: StepSetup, reps: number): Promise<(Turned & { first: FirstStep }) | BrowserSide> {
  const engine = 'transferkit, onnxruntime-web webgpu (Chromium)';
  const gpu = await page.context().browser()!.newPage();
  try {
    await gpu.goto(new URL('webgpu.html', page.url()).href);
    await gpu.setInputFiles('#weights', weights);
    const { first } = await prepare(gpu, setup);
    return { engine, first, turn: () => pageMedian(gpu, `ortTurn(${reps})`) };
  } catch (err) {
    await gpu.close();
    return { engine, rounds: [], spread: null, note: (err as Error).message.split('\n')[0] };
  }
}

/** Epochs of the page's feature stores: MobileNet α 0.25's features at 96×96 (2,304 floats) for 5,000 images. */
const EPOCHS = { rows: 5000, rowSize: 2304, batch: 32, epochs: 3 };

/**
 * Chromium's flags: WebGL on SwiftShader (headless has no GPU here; tfjs's webgl backend then runs on the CPU), and
 * WebGPU asked for (unsafe: Linux ships it disabled) on SwiftShader's Vulkan.
 */
export const ARGS = [
  '--headless',
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

interface Ready {
  isolated: boolean;
  backends: string[];
  webgpu: string;
  webgl: string;
  first: FirstStep;
}

const prepare = (page: Page, setup: StepSetup) =>
  page.evaluate(`globalThis.bench.prepare(document.getElementById('weights').files[0], ${JSON.stringify(setup)})`) as Promise<Ready>;

/** One step's sides in turns: the page's (ONNX Runtime on wasm and WebGPU, tfjs), then Node's. */
async function stepBench(page: Page, weights: string, setup: StepSetup, o: { rounds: number; reps: number }): Promise<StepBench> {
  const ready = await prepare(page, setup);
  const node = await nodeStep(weights, setup);
  try {
    const { sides, failed } = await stepSides(page, ready.backends, node.step, o.reps);
    const gpu = await webgpuSide(page, weights, setup, o.reps);
    if ('turn' in gpu) sides.splice(1, 0, gpu);
    else failed.push(gpu);
    const agreement =
      'first' in gpu
        ? {
            loss: maxRelative([gpu.first.loss], [ready.first.loss]),
            worstWeights: Math.max(...ready.first.weights.map((w, i) => maxRelative(gpu.first.weights[i], w))),
          }
        : undefined;
    const timed = await alternate(sides, o.rounds);
    const [web, nodeSide] = [timed[0], timed[timed.length - 1]];
    return {
      workload: `mobilenet α${setup.alpha} ${setup.size}x${setup.size}, train ${setup.from} + head, b${setup.batch} sgd (real weights)`,
      setup,
      sides: [...timed, ...failed],
      ratios: [...timed.slice(1, -1).map((s) => ratioOf(`${s.engine} / browser wasm step`, s, web)), ratioOf('browser wasm step / Node step', web, nodeSide)],
      ...(agreement ? { webgpuVsWasm: agreement } : {}),
    };
  } finally {
    await node.dispose();
  }
}

export async function browserBench(root: string, weights: string, o: { rounds: number; reps: number }): Promise<BrowserBench> {
  const server = await serveStatic(await pageDir(root));
  try {
    return await withPage(
      async (page) => {
        await page.goto(server.url);
        await page.setInputFiles('#weights', weights);
        const steps: StepBench[] = [];
        for (const setup of SETUPS) steps.push(await stepBench(page, weights, setup, o));
        const stores = await alternate(
          (['memory', 'opfs'] as const).map((cache) => ({
            engine: `an epoch read from the feature store in ${cache}`,
            turn: () => pageMedian(page, `storeEpochs(${JSON.stringify({ ...EPOCHS, cache })})`),
          })),
          o.rounds,
        );
        const ready = await prepare(page, SETUPS[0]);
        return {
          crossOriginIsolated: ready.isolated,
          chromium: page.context().browser()?.version() ?? '?',
          steps,
          featureEpochs: { ...EPOCHS, stores, opfsOverMemory: ratioOf('opfs / memory', stores[1], stores[0]) },
          webgpu: ready.webgpu,
          webgl: ready.webgl,
          method: `${o.rounds} rounds; in each, every side takes a turn of ${o.reps} timed steps after one warm-up step (its median kept), a ${SETTLE_MS} ms pause between turns; ${SETUPS[0].threads} threads for ONNX Runtime (web and Node) and tfjs-wasm; feature stores: ${EPOCHS.epochs} epochs a turn`,
        };
      },
      { args: ARGS },
    );
  } finally {
    server.close();
  }
}
