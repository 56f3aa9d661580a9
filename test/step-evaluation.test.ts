// Evaluation runs the training step's forward part alone (src/engine/onnx/evaluation.ts): the loss and outputs a
// step computes before its update, bit for bit, from a graph without the backward pass or the updates.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/engine/backend.js';
import ort from 'onnxruntime-node';
import { GraphTrainer, fineTuneGraph } from '../src/engine/graph-trainer.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { evaluationGraph } from '../src/engine/onnx/evaluation.js';
import type { OptimizerSpec } from '../src/engine/optimizers.js';
import { loadOnnxBase } from '../src/engine/onnx-base.js';
import type { TrainableStep } from '../src/engine/ort-step-trainer.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import type { Trainer } from '../src/engine/training.js';
import { maxRelative, tempDir } from './helpers.js';
import { exportedVitFineTune, hasDebianTorch } from './exported-vit.js';
import { convBase, headModel, run } from './onnx-parity.js';

before(async () => {
  await initBackend('cpu');
});

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));

/** The evaluation graph gives back the loss and the output only, and reads neither the step size nor any slot. */
function assertForwardOnly(step: TrainableStep): void {
  const g = decodeModel(evaluationGraph(step)).graph;
  assert.deepEqual(
    g.outputs.map((o) => o.name),
    [step.loss, step.output],
  );
  const reads = new Set(g.inputs.map((i) => i.name));
  assert.ok(!reads.has(step.lr), 'reads the step size');
  for (const p of step.params) for (const s of p.slots) assert.ok(!reads.has(s.input), `reads the slot ${s.input}`);
  const made = new Set(g.nodes.flatMap((n) => n.outputs));
  for (const p of step.params) assert.ok(!made.has(p.output), `computes the update ${p.output}`);
  assert.ok(g.nodes.length < decodeModel(step.onnx).graph.nodes.length / 2, `${g.nodes.length} nodes`);
}

/** evaluate() before each step equals that step's own loss and output (computed before its update). */
async function assertSameAsStep(
  trainer: Trainer & { graph: TrainableStep },
  features: number,
  n: number,
  classes: number,
  batch: (s: number) => Float32Array = (s) => values(n * features, s),
): Promise<void> {
  try {
    assertForwardOnly(trainer.graph);
    for (let s = 0; s < 3; s++) {
      const x = batch(s);
      const y = Float32Array.from({ length: n * classes }, (_, i) => (i % classes === (Math.floor(i / classes) + s) % classes ? 1 : 0));
      const seen = await trainer.evaluate(x, y, n);
      // Through its own session, not the step's (whose run would compute the backward pass and updates too).
      assert.ok((trainer as unknown as { evaluation?: unknown }).evaluation, 'the evaluation session');
      const stepped = await trainer.step(x, y, n, 0.05);
      // Bit for bit on these graphs; ONNX Runtime may fuse an exported graph's forward part differently alone.
      assert.ok(Math.abs(seen.loss - stepped.loss) <= 1e-6 * Math.max(1, Math.abs(stepped.loss)), `loss before step ${s}: ${seen.loss} vs ${stepped.loss}`);
      assert.ok(maxRelative(seen.output, stepped.output) <= 1e-5, `output before step ${s}`);
    }
  } finally {
    await trainer.dispose();
  }
}

for (const optimizer of [{ name: 'sgd', momentum: 0.9 }, { name: 'adam' }] as OptimizerSpec[])
  test(`a Keras conv + BatchNorm + Dense step (${optimizer.name}): evaluation is its forward part`, async () => {
    const input = tfl.input({ shape: [6, 6, 3] });
    let x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }).apply(input);
    x = tfl.layers.batchNormalization({ name: 'bn' }).apply(x);
    x = tfl.layers.globalAveragePooling2d({}).apply(x);
    const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }).apply(x);
    const model = tfl.model({ inputs: input, outputs: out as tfl.SymbolicTensor });
    const trainer = await OrtTrainer.create(model, { loss: 'categorical_crossentropy', optimizer });
    await assertSameAsStep(trainer, 6 * 6 * 3, 4, 3);
  });

test('an exported-graph step (a two-conv base made without Python, cut after its first conv): evaluation is its forward part', async () => {
  const file = path.join(tempDir(), 'conv.onnx');
  await convBase(file, 8);
  const base = loadOnnxBase(file, { inputSize: 8 });
  const cut = base.model.graph.nodes.find((n) => n.opType === 'Relu')?.outputs[0] as string;
  const ft = await fineTuneGraph(base.prefix, cut, headModel(5, 2));
  const trainer = await GraphTrainer.create(ft, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
  await assertSameAsStep(trainer, 4 * 6 * 6, 3, 2);
});

const hasTorch = hasDebianTorch('the exported ViT evaluation test');
test('a torchvision ViT exported by PyTorch at test time (its last block and a head): evaluation is its forward part', {
  skip: hasTorch ? false : 'torch is absent',
}, async () => {
  const { base, ft } = await exportedVitFineTune();
  const n = 2;
  const pixels = Float32Array.from({ length: 3 * n * 64 * 64 * 3 }, (_, i) => (i * 37) % 255);
  const cut = (await run(ft.prefix, { [base.prefix.graph.inputs[0].name]: new ort.Tensor('float32', pixels, [3 * n, 64, 64, 3]) })).data as Float32Array;
  const per = (cut.length / 3 / n) | 0;
  const trainer = await GraphTrainer.create(ft, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
  await assertSameAsStep(trainer, per, n, 3, (s) => cut.slice(s * n * per, (s + 1) * n * per));
});
