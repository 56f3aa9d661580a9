// A wide weight gradient Xᵀ·dY takes X transposed explicitly (transposed-product.ts: MLAS re-transposes a transA
// operand for every block of output columns), and SGD momentum still folds into that Gemm with the weight's 2-D
// shape a constant (no Reshape copy of the new slot). The steps match tfjs's on the cpu backend.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/index.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import type { OptimizerSpec } from '../src/engine/optimizers.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { TfjsTrainer } from '../src/engine/tfjs-trainer.js';

before(async () => {
  await initBackend('cpu');
});

/** Dense layers on a feature map, as ConvNeXt's pointwise ones: 600 columns (wide) and 40 (narrow). */
function model(): tfl.LayersModel {
  const input = tfl.input({ shape: [3, 3, 16] });
  const wide = tfl.layers.dense({ units: 600, activation: 'relu', name: 'wide' }).apply(input) as tfl.SymbolicTensor;
  const narrow = tfl.layers.dense({ units: 40, activation: 'relu', name: 'narrow' }).apply(wide) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(narrow) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(pooled) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: out });
  // Fixed weights: the two engines start from the same point on every run.
  m.setWeights(m.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.2, 'float32', 11 + i)));
  return m;
}

test("SGD momentum: the wide kernel's new slot is a Gemm of X transposed (no transA), the narrow one's keeps transA", async () => {
  const trainer = await OrtTrainer.create(model(), { loss: 'categorical_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
  const { graph } = decodeModel(trainer.graph.onnx);
  const { params } = trainer.graph;
  await trainer.dispose();
  const producer = (v: string) => graph.nodes.find((n) => n.outputs.includes(v));
  const kernel = (layer: string) => params.find((p) => p.input.startsWith(`${layer}/kernel`));
  const wide = kernel('wide');
  const narrow = kernel('narrow');
  assert.ok(wide && narrow);
  const wideGemm = producer(wide.slots[0].output);
  assert.equal(wideGemm?.opType, 'Gemm');
  assert.equal(wideGemm.attributes.transA, undefined, 'the wide product has no transA');
  // A, past the −lr the fold puts on the smaller operand, is the explicit transpose's Squeeze.
  const scaled = producer(wideGemm.inputs[0]);
  const a = scaled?.opType === 'Mul' ? scaled.inputs[0] : wideGemm.inputs[0];
  assert.equal(producer(a)?.opType, 'Squeeze');
  assert.deepEqual(wide.outputShape, [16, 600], "the slot comes out in the weight's 2-D shape, a constant");
  const narrowGemm = producer(narrow.slots[0].output);
  assert.equal(narrowGemm?.opType, 'Gemm');
  assert.equal(narrowGemm.attributes.transA, 1, 'the narrow product keeps transA');
});

for (const optimizer of [{ name: 'sgd', momentum: 0.9 }, { name: 'adam' }] as OptimizerSpec[]) {
  test(`${optimizer.name}: 3 steps through the explicit transpose match tfjs's`, async () => {
    const x = tf.randomNormal([4, 3, 3, 16], 0, 1, 'float32', 5).dataSync() as Float32Array;
    const y = Float32Array.of(1, 0, 0, 1, 1, 0, 0, 1);
    const run = async (make: (m: tfl.LayersModel) => Promise<OrtTrainer | TfjsTrainer>) => {
      const m = model();
      const trainer = await make(m);
      const losses: number[] = [];
      for (let s = 0; s < 3; s++) losses.push((await trainer.step(x, y, 4, 0.01)).loss);
      trainer.writeBack();
      await trainer.dispose();
      return { losses, weights: m.getWeights().map((w) => w.dataSync() as Float32Array) };
    };
    const options = { loss: 'categorical_crossentropy' as const, optimizer };
    const ort = await run((m) => OrtTrainer.create(m, options));
    const ref = await run((m) => TfjsTrainer.create(m, options, 'cpu'));
    ort.losses.forEach((l, i) => assert.ok(Math.abs(l - ref.losses[i]) < 1e-4, `step ${i}: ORT ${l} vs tfjs ${ref.losses[i]}`));
    ort.weights.forEach((w, i) => {
      let worst = 0;
      for (let k = 0; k < w.length; k++) worst = Math.max(worst, Math.abs(w[k] - ref.weights[i][k]));
      assert.ok(worst < 1e-4, `weight ${i}: off by ${worst}`);
    });
    const moved = ort.weights[0].some((v, k) => v !== model().getWeights()[0].dataSync()[k]);
    assert.ok(moved, 'the steps moved the wide kernel');
  });
}
