// One training step, written once and run twice: in Node on the library, and in the page on `transferkit/browser`
// (its source is sent to the page as text, so it imports nothing and takes the library as an argument).
import type * as tfl from '@tensorflow/tfjs-layers';
import type { addHead, createTrainer, optimizerSpec, seededRandom } from '../src/browser/index.js';

export interface StepLibrary {
  addHead: typeof addHead;
  createTrainer: typeof createTrainer;
  optimizerSpec: typeof optimizerSpec;
  seededRandom: typeof seededRandom;
}

export interface StepOutcome {
  loss: number;
  output: number[];
  /** The trained weights after the step. */
  weights: number[][];
}

/** A head on `base`, one SGD step from conv_dw_13 (the last block and the head) on a seeded batch of 8. */
export async function stepOnce(lib: StepLibrary, base: tfl.LayersModel): Promise<StepOutcome> {
  const model = lib.addHead(base, 'gap, dropout:0.5, dense:1:sigmoid', { seed: 7 });
  const from = 'conv_dw_13';
  const shape = (base.getLayer(from).input as tfl.SymbolicTensor).shape as number[];
  const n = 8;
  const random = lib.seededRandom(11);
  const x = Float32Array.from({ length: n * shape.slice(1).reduce((a, b) => a * b, 1) }, () => random() * 6);
  const y = Float32Array.from({ length: n }, (_, i) => i % 2);
  const trainer = await lib.createTrainer(model, { engine: 'ort', from, loss: 'binary_crossentropy', optimizer: lib.optimizerSpec('sgd'), seed: 3 });
  try {
    const s = await trainer.step(x, y, n, 0.05);
    return { loss: s.loss, output: Array.from(s.output), weights: trainer.snapshot().map((w) => Array.from(w)) };
  } finally {
    await trainer.dispose();
  }
}
