// The browser's twin of src/engine/ort-runtime.ts: ONNX Runtime Web on WebAssembly (SIMD; threads when the page
// is cross-origin isolated), the same version as onnxruntime-node, so the same graphs run the same ops.
import type * as node from '../../engine/ort-runtime.js';
import { executionProviders } from '../ort-providers.js';

export type Ort = node.Ort;
export type Device = node.Device;
export { ortReason } from '../../engine/ort-reason.js';
export const DEVICES = ['auto', 'cuda', 'cpu'] as const satisfies typeof node.DEVICES;
/** A page's WebAssembly memory stops at 4 GB: the largest steps keep one session unless the options ask for groups. */
export const GROUPS_LARGE_STEPS: typeof node.GROUPS_LARGE_STEPS = false;

let loaded: Promise<Ort> | undefined;
let gpuLoaded: Promise<Ort> | undefined;

const quiet = (m: unknown) => {
  (m as Ort).env.logLevel = 'fatal';
  return m as Ort;
};

/** The WebAssembly build, or the build with the WebGPU provider once configureOnnxRuntime asked for it. */
export const loadOrt: typeof node.loadOrt = () => {
  if (executionProviders().includes('webgpu')) return (gpuLoaded ??= import('onnxruntime-web/webgpu').then(quiet));
  loaded ??= import('onnxruntime-web/wasm').then(quiet);
  return loaded;
};

/** ONNX Runtime Web picks its own thread count (half the cores, at most 4, when cross-origin isolated). */
export const sessionOptions: typeof node.sessionOptions = () => ({ executionMode: 'sequential', graphOptimizationLevel: 'all' });

export const setDevice: typeof node.setDevice = () => {};
/** The CPU-measured graph forms (Winograd convolutions) are not measured on WebAssembly or WebGPU: the page keeps the plain ones. */
export const onCpu: typeof node.onCpu = () => false;

export const cudaUnavailable: typeof node.cudaUnavailable = () => 'a browser runs ONNX Runtime on WebAssembly (or WebGPU)';

export const createSession: typeof node.createSession = (ort, onnx, options = sessionOptions()) =>
  ort.InferenceSession.create(onnx, { logSeverityLevel: 4, ...options, executionProviders: [...executionProviders()] });
