// ONNX Runtime is loaded on first use, not at import: where its native binary does not load, transferkit
// still starts and runs on tfjs-wasm.
import os from 'node:os';
import type * as OrtTypes from 'onnxruntime-node';

export type Ort = typeof OrtTypes.default;
let loaded: Promise<Ort> | undefined;

export function loadOrt(): Promise<Ort> {
  if (!loaded) loaded = import('onnxruntime-node').then((m) => m.default);
  return loaded;
}

/** Session options measured best on 2 cores: all cores in one op, sequential graph execution. */
export function sessionOptions(): OrtTypes.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
}
