// One fine-tune of an exported graph (the last 2 blocks + a 1-unit head on the cached input before them) in a
// process of its own: `node dist/bench/graph-step.js MODEL.onnx BATCH STEPS [THREADS]` prints {msPerStep, stepsPerRun, peakRssMb}. A fresh process per
// measurement, so the peak is this workload's alone; run.ts also runs it on one core for the scaling row.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/engine/backend.js';
import { GraphTrainer, fineTuneGraph } from '../src/engine/graph-trainer.js';
import { fineTuneCut } from '../src/engine/onnx/cut.js';
import { type OnnxBase, loadOnnxBase } from '../src/engine/onnx-base.js';
import { tuneOrt } from '../src/engine/ort-runtime.js';
import { takeSteps } from '../src/engine/training.js';
import { standInBase } from '../src/train/model/onnx-base.js';

/**
 * The trainer of the graph rows: the last 2 blocks of `base` (ViT-B/16's encoder blocks 10-11; ConvNeXt-Tiny's
 * last downsampling and stage, torchvision's features.6-7) and a new sigmoid unit on its 768 features, SGD with
 * momentum (the head seeded: trainers made twice start alike); `stepsPerExecution` as the trainer's option (default: its own choice).
 */
export async function graphFineTune(base: OnnxBase, stepsPerExecution?: number): Promise<{ trainer: GraphTrainer; cutShape: number[] }> {
  const input = tfl.input({ shape: [768] });
  const head = tfl.model({
    inputs: input,
    outputs: tfl.layers
      .dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) })
      .apply(standInBase(768).apply(input)) as tfl.SymbolicTensor,
  });
  const ft = await fineTuneGraph(base.prefix, fineTuneCut(base.model.graph, { lastBlocks: 2 }).value, head);
  const trainer = await GraphTrainer.create(ft, { loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 }, stepsPerExecution });
  return { trainer, cutShape: ft.cutShape };
}

async function main(): Promise<void> {
  const [file, batchArg, stepsArg, threadsArg] = process.argv.slice(2);
  const batch = Number(batchArg);
  const steps = Number(stepsArg);
  if (threadsArg) tuneOrt({ threads: Number(threadsArg) });
  await initBackend('wasm'); // tfjs builds the head's layers; the steps run in ONNX Runtime
  const { trainer, cutShape } = await graphFineTune(loadOnnxBase(file));
  const feats = tf.randomUniform([batch, ...cutShape], -1, 1).dataSync() as Float32Array;
  const labels = Float32Array.from({ length: batch }, (_, i) => i % 2);
  // As a fit takes them: the trainer's groups (stepsPerRun steps a run); then an epoch's remainder (one step) and an
  // evaluation, so the peak holds every session a fit opens.
  const k = trainer.stepsPerRun ?? 1;
  const group = Array.from({ length: k }, () => ({ x: feats, y: labels, n: batch, lr: 1e-3 }));
  await takeSteps(trainer, group); // warm-up: the first run plans memory
  const runs = Math.ceil(steps / k);
  const t = performance.now();
  for (let i = 0; i < runs; i++) await takeSteps(trainer, group);
  const msPerStep = (performance.now() - t) / (runs * k);
  await trainer.step(feats, labels, batch, 1e-3);
  await trainer.evaluate(feats, labels, batch);
  await trainer.dispose();
  process.stdout.write(`${JSON.stringify({ msPerStep, stepsPerRun: k, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
}

if (process.argv[1]?.endsWith('graph-step.js')) await main();
