// One training loop, two engines: the engine asked for, else ONNX Runtime when it loads, else tfjs on wasm.
import type * as tfl from '@tensorflow/tfjs-layers';
import { type EngineName, resolveEngine } from './predictor.js';
import type { Trainer, TrainerOptions } from './training.js';

/** A trainer on the engine asked for (default: ONNX Runtime when it loads, else tfjs-wasm). */
export async function createTrainer(model: tfl.LayersModel, options: TrainerOptions & { engine?: EngineName }): Promise<Trainer> {
  const engine = await resolveEngine(options.engine);
  if (engine === 'ort') return (await import('./ort-trainer.js')).OrtTrainer.create(model, options);
  return (await import('./tfjs-trainer.js')).TfjsTrainer.create(model, options, engine);
}
