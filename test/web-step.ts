// One training step, written once and run twice: in Node on the library, and in the page on `transferkit/browser`
// (its source is sent to the page as text, so it imports nothing and takes the library as an argument).
import type * as tfl from '@tensorflow/tfjs-layers';
import type {
  OnnxBase,
  addHead,
  applyStrategy,
  createTrainer,
  onnxFeatures,
  onnxFineTune,
  onnxHead,
  optimizerSpec,
  seededRandom,
} from '../src/browser/index.js';

export interface StepLibrary {
  addHead: typeof addHead;
  applyStrategy: typeof applyStrategy;
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

/**
 * A head on `base`, one SGD step on a seeded batch of 8 from `from` (default conv_dw_13: MobileNet's last block
 * and the head); with `unfreezeFrom`, the layers before it frozen (a fine-tune whose cut skip connections cross
 * steps from the base's first layer, as Node's phase plan does). The batch's values are uniform in [0, scale)
 * (default 6).
 */
export async function stepOnce(
  lib: StepLibrary,
  base: tfl.LayersModel,
  o: { from?: string; unfreezeFrom?: string; scale?: number } = {},
): Promise<StepOutcome> {
  const model = lib.addHead(base, 'gap, dropout:0.5, dense:1:sigmoid', { seed: 7 });
  const from = o.from ?? 'conv_dw_13';
  if (o.unfreezeFrom) lib.applyStrategy(model, 'fine-tune', o.unfreezeFrom);
  const shape = (base.getLayer(from).input as tfl.SymbolicTensor).shape as number[];
  const n = 8;
  const random = lib.seededRandom(11);
  const x = Float32Array.from({ length: n * shape.slice(1).reduce((a, b) => a * b, 1) }, () => random() * (o.scale ?? 6));
  const y = Float32Array.from({ length: n }, (_, i) => i % 2);
  const trainer = await lib.createTrainer(model, { engine: 'ort', from, loss: 'binary_crossentropy', optimizer: lib.optimizerSpec('sgd'), seed: 3 });
  try {
    const s = await trainer.step(x, y, n, 0.05);
    return { loss: s.loss, output: Array.from(s.output), weights: trainer.snapshot().map((w) => Array.from(w)) };
  } finally {
    await trainer.dispose();
  }
}

export interface OnnxStepLibrary {
  onnxFeatures: typeof onnxFeatures;
  onnxHead: typeof onnxHead;
  onnxFineTune: typeof onnxFineTune;
  optimizerSpec: typeof optimizerSpec;
}

/** A 2-class head on an ONNX base, one SGD step of its last block and the head on two images (raw pixels). */
export async function onnxStepOnce(lib: OnnxStepLibrary, base: OnnxBase, pixels: Float32Array): Promise<StepOutcome & { block: string }> {
  const features = await lib.onnxFeatures(base);
  const dim = features.outputShape(1)[1];
  await features.dispose();
  const head = lib.onnxHead(dim, 'dense:2:softmax', { seed: 7 });
  const ft = await lib.onnxFineTune(base, head, { lastBlocks: 1, loss: 'categorical_crossentropy', optimizer: lib.optimizerSpec('sgd'), seed: 3 });
  try {
    const x = await ft.prefix.predict(pixels, 2);
    const s = await ft.trainer.step(x, Float32Array.of(1, 0, 0, 1), 2, 0.05);
    return { loss: s.loss, output: Array.from(s.output), weights: ft.trainer.snapshot().map((w) => Array.from(w)), block: ft.cut.block };
  } finally {
    await ft.dispose();
  }
}
