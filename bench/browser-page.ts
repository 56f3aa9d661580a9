// The page bench/browser.ts drives in Chromium (bundled by esbuild with the package's browser twins): one MobileNet
// fine-tune step timed on ONNX Runtime Web (transferkit's compiled step) and as TensorFlow.js's own training
// (tfjs-layers' trainOnBatch) of the same layers, on the backends tfjs has in this browser.
import '@tensorflow/tfjs-backend-webgl';
import * as tfjsWasm from '@tensorflow/tfjs-backend-wasm';
import * as lib from '../src/browser/index.js';
import type { EpochRequest } from './browser-opfs-worker.js';
import { tf, tfl } from '../src/tfjs.js';

/** What both sides train: the model's layers from `from` on, a batch of `batch` random inputs at that cut. */
export interface StepSetup {
  size: number;
  alpha: number;
  from: string;
  batch: number;
  lr: number;
  /** ONNX Runtime Web's and tfjs-wasm's threads (more than one needs a cross-origin isolated page). */
  threads: number;
}

let ort: lib.Trainer | undefined;
let tail: tfl.LayersModel | undefined;
let data: { x: Float32Array; y: Float32Array; shape: number[] } | undefined;
let setup: StepSetup | undefined;

/**
 * TensorFlow.js's own model of the trained part: an input at the cut, then the layers from `from` on applied in
 * order (MobileNet v1 is a chain: no skip connection crosses the cut), sharing the head's layer objects.
 */
function tailModel(model: tfl.Sequential, from: string, shape: number[]): tfl.LayersModel {
  const base = model.layers[0] as tfl.LayersModel;
  const cut = base.layers.findIndex((l) => l.name === from);
  const input = tfl.input({ shape: shape.slice(1) });
  let y = input as tfl.SymbolicTensor;
  for (const layer of [...base.layers.slice(cut), ...model.layers.slice(1)]) y = layer.apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: y });
}

/** Whether WebGPU has an adapter in this page, or why not. */
async function webgpu(): Promise<string> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu;
  if (!gpu) return 'navigator.gpu is absent';
  const a = await gpu.requestAdapter().catch(() => null);
  if (!a) return 'navigator.gpu.requestAdapter() gave no adapter';
  return `adapter: ${[a.info?.vendor, a.info?.architecture, a.info?.description].filter(Boolean).join(' ')}`;
}

/** WebGL's renderer as the page sees it (SwiftShader is the CPU). */
function webglRenderer(): string {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return 'no WebGL 2 context';
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

/** A first step's loss and trained weights: what the WebGPU page's step is checked against. */
export interface FirstStep {
  loss: number;
  weights: number[][];
}

async function prepare(weights: File, s: StepSetup): Promise<{ isolated: boolean; backends: string[]; webgpu: string; webgl: string; first: FirstStep }> {
  setup = s;
  await lib.configureOnnxRuntime({ wasmPaths: new URL('./ort/', location.href).href, numThreads: s.threads });
  tfjsWasm.setWasmPaths(new URL('./tfjs/', location.href).href);
  tfjsWasm.setThreadsCount(s.threads);
  const base = await lib.buildBase(weights, { size: s.size, alpha: s.alpha });
  const model = lib.addHead(base, 'gap, dropout:0.5, dense:1:sigmoid', { seed: 7 }) as tfl.Sequential;
  const shape = (base.getLayer(s.from).input as tfl.SymbolicTensor).shape as number[];
  const random = lib.seededRandom(11);
  const x = Float32Array.from({ length: s.batch * shape.slice(1).reduce((a, b) => a * b, 1) }, () => random() * 6);
  const y = Float32Array.from({ length: s.batch }, (_, i) => i % 2);
  data = { x, y, shape: [s.batch, ...shape.slice(1)] };
  ort = await lib.createTrainer(model, { engine: 'ort', from: s.from, loss: 'binary_crossentropy', optimizer: lib.optimizerSpec('sgd'), seed: 3 });
  const { loss } = await ort.step(x, y, s.batch, s.lr);
  const first = { loss, weights: ort.snapshot().map((w) => Array.from(w)) };
  tail = tailModel(model, s.from, shape);
  tail.compile({ optimizer: tf.train.sgd(s.lr), loss: 'binaryCrossentropy' });
  const backends: string[] = [];
  for (const b of ['wasm', 'webgl', 'cpu']) if (await tf.setBackend(b).catch(() => false)) backends.push(b);
  return { isolated: crossOriginIsolated, backends, webgpu: await webgpu(), webgl: webglRenderer(), first };
}

async function times(step: () => Promise<unknown>, reps: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await step();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await step();
    out.push(performance.now() - t);
  }
  return out;
}

/** `reps` timed steps of transferkit's compiled step on ONNX Runtime Web (ms each). */
async function ortTurn(reps: number, warmup = 1): Promise<number[]> {
  const { x, y } = data!;
  return times(() => ort!.step(x, y, setup!.batch, setup!.lr), reps, warmup);
}

/** `reps` timed trainOnBatch calls of the tail model on tfjs backend `backend` (ms each, the loss read back). */
async function tfjsTurn(backend: string, reps: number, warmup = 1): Promise<number[]> {
  await tf.setBackend(backend);
  const { x, y, shape } = data!;
  const xs = tf.tensor(x, shape);
  const ys = tf.tensor(y, [y.length, 1]);
  try {
    return await times(() => tail!.trainOnBatch(xs, ys), reps, warmup);
  } finally {
    xs.dispose();
    ys.dispose();
  }
}

/** Epochs read from the page's feature store `r.cache`, in a worker (the file's synchronous access exists only there). */
function storeEpochs(r: EpochRequest): Promise<number[]> {
  const worker = new Worker(new URL('./opfs-worker.js', location.href), { type: 'module' });
  return new Promise<number[]>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<number[]>) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage(r);
  }).finally(() => worker.terminate());
}

Object.assign(globalThis, { bench: { prepare, ortTurn, tfjsTurn, storeEpochs } });
