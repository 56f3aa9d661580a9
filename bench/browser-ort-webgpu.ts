// The bench page's ONNX Runtime for its WebGPU side (bench/browser.ts bundles the page a second time with this in
// place of the library's WebAssembly twin): the web build with the WebGPU execution provider, the ops it lacks
// falling back to WebAssembly.
import type * as node from '../src/engine/ort-runtime.js';
import { type Ort, sessionOptions } from '../src/browser/twins/ort-runtime.js';

export * from '../src/browser/twins/ort-runtime.js';

let loaded: Promise<Ort> | undefined;

export const loadOrt: typeof node.loadOrt = () => {
  loaded ??= import('onnxruntime-web/webgpu').then((m) => {
    m.env.logLevel = 'fatal';
    return m as unknown as Ort;
  });
  return loaded;
};

export const createSession: typeof node.createSession = (ort, onnx, options = sessionOptions()) =>
  ort.InferenceSession.create(onnx, { logSeverityLevel: 4, ...options, executionProviders: ['webgpu', 'wasm'] });
