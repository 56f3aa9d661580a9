// The pool push (grad/pool-push.ts) in the Keras step compiler: ConvNeXt-Tiny's stage-3 fine-tune step built with
// `pooling: 'avg'` (the features pooled, then Keras's LayerNorm) has its mean moved above the last block's layer
// scale and second pointwise Dense, with the loss, output and updates of the step without it; built without
// pooling (Keras's LayerNorm on every position, then the head's pool) it is left as it is.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { addHead, applications, initBackend, unfreezeFrom } from '../src/index.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { compileTrainStep } from '../src/engine/onnx/train.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import type { TrainerOptions } from '../src/engine/training.js';
import { rng } from './grad-check.js';

before(async () => {
  await initBackend('cpu');
});

const FROM = 'convnext_tiny_downsampling_layernorm_2';
const OPTIONS: TrainerOptions = { from: FROM, loss: 'binary_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } };

async function convnextTiny(pooling: 'avg' | undefined): Promise<tfl.LayersModel> {
  const base = await applications
    .getApplication('convnext_tiny')
    .build({ weights: null, includeTop: false, inputShape: [96, 96, 3], ...(pooling ? { pooling } : {}) });
  // A trained model's layer scale, not a fresh one's 1e-6 (under which the last Dense's update is below its weights' float spacing).
  const r = rng(3);
  for (const block of [0, 1, 2]) {
    const gamma = Float32Array.from({ length: 768 }, () => 0.5 + r.uniform());
    base.getLayer(`convnext_tiny_stage_3_block_${block}_layer_scale`).setWeights([tf.tensor(gamma, [768])]);
  }
  const model = addHead(base, pooling ? 'dense:1:sigmoid' : 'gap, dense:1:sigmoid');
  unfreezeFrom(model, FROM);
  return model;
}

const count = (onnx: Uint8Array, op: string) => decodeModel(onnx).graph.nodes.filter((n) => n.opType === op).length;

test("ConvNeXt-Tiny stage 3 with pooling 'avg': the mean moved up, the same loss, output and updates", async () => {
  const model = await convnextTiny('avg');
  const [plain, pushed] = [compileTrainStep(model, { ...OPTIONS, pushPools: false }), compileTrainStep(model, OPTIONS)];
  // One more ReduceMean (the block's input and the GELU's output pooled instead of the block's output).
  assert.equal(count(pushed.onnx, 'ReduceMean'), count(plain.onnx, 'ReduceMean') + 1);
  const sides = [await OrtTrainer.create(model, { ...OPTIONS, pushPools: false } as TrainerOptions), await OrtTrainer.create(model, OPTIONS)];
  const n = 4;
  const x = tf.randomUniform([n, ...sides[0].graph.inputShape], -1, 1, 'float32', 1).dataSync() as Float32Array;
  const y = Float32Array.from({ length: n }, (_, i) => i % 2);
  const initial = sides[0].snapshot();
  const [a, b] = [await sides[0].step(x, y, n, 10), await sides[1].step(x, y, n, 10)];
  assert.ok(Math.abs(a.loss - b.loss) < 1e-6 * Math.abs(a.loss), `loss ${a.loss} vs ${b.loss}`);
  assert.ok(
    a.output.every((v, i) => Math.abs(v - b.output[i]) < 1e-6),
    'outputs',
  );
  const [wa, wb] = sides.map((s) => s.snapshot());
  let worst = 0;
  wa.forEach((w, k) => {
    let [gap, size] = [0, 0];
    w.forEach((v, i) => {
      gap = Math.max(gap, Math.abs(v - wb[k][i]));
      size = Math.max(size, Math.abs(v - initial[k][i]));
    });
    if (size > 0) worst = Math.max(worst, gap / size);
  });
  process.stderr.write(`pool push, Keras ConvNeXt-Tiny: loss ${a.loss} vs ${b.loss}, worst update ${worst.toExponential(2)}\n`);
  assert.ok(worst < 1e-3, `updates differ by ${worst} of the largest`);
  for (const s of sides) s.dispose();
});

test('ConvNeXt-Tiny stage 3 without pooling: LayerNorm on every position before the head’s pool, the step is left as it is', async () => {
  const model = await convnextTiny(undefined);
  const [plain, pushed] = [compileTrainStep(model, { ...OPTIONS, pushPools: false }), compileTrainStep(model, OPTIONS)];
  assert.deepEqual(pushed.onnx, plain.onnx);
});
