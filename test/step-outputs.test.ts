// A compiled step's outputs come straight from its update (issue 30): no Identity copying each updated weight and
// slot every step, and where SGD momentum is folded into a 2-D gradient product (fold-momentum.ts), the fused
// Gemm's own output is the new slot — a Reshape after it, as a step output, was a copy — with its [M, N] shape a
// constant (no Shape/Slice/Concat per step). The values themselves are checked by train-graph.test.ts.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/index.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import type { OptimizerSpec } from '../src/engine/optimizers.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';

before(async () => {
  await initBackend('cpu');
});

/** A 3×3 convolution (im2col), one over a 2×2 map (conv-small.ts), a 1×1 convolution and a Dense head. */
const model = () =>
  tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [4, 4, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2d({ filters: 6, kernelSize: 1 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });

async function stepGraph(optimizer: OptimizerSpec) {
  const trainer = await OrtTrainer.create(model(), { loss: 'categorical_crossentropy', optimizer });
  const { graph } = decodeModel(trainer.graph.onnx);
  await trainer.dispose();
  const producer = (value: string) => graph.nodes.find((n) => n.outputs.includes(value));
  return { params: trainer.graph.params, graph, producer };
}

for (const optimizer of [{ name: 'sgd', momentum: 0.9 }, { name: 'adam' }, { name: 'sgd' }] as OptimizerSpec[]) {
  test(`${optimizer.name}${'momentum' in optimizer ? ' with momentum' : ''}: no Identity between an update and its step output`, async () => {
    const { params, producer } = await stepGraph(optimizer);
    for (const p of params)
      for (const out of [p.output, ...p.slots.map((s) => s.output)]) assert.notEqual(producer(out)?.opType, 'Identity', `${out} is an Identity's copy`);
  });
}

test("SGD momentum folded: each kernel's new slot is the fused Gemm's output, its C the momentum in a constant shape", async () => {
  const { params, graph, producer } = await stepGraph({ name: 'sgd', momentum: 0.9 });
  const kernels = params.filter((p) => p.input.endsWith('/kernel'));
  assert.equal(kernels.length, 4);
  const constant = (v: string) => graph.initializers.some((t) => t.name === v);
  for (const p of kernels) {
    const gemm = producer(p.slots[0].output);
    assert.equal(gemm?.opType, 'Gemm', `${p.input}: its new momentum comes from ${gemm?.opType}`);
    // C: the momentum itself (a Dense kernel, already [M, N]) or reshaped by a constant shape.
    const c = producer(gemm.inputs[2]);
    const direct = gemm.inputs[2] === p.slots[0].input;
    assert.ok(direct || (c?.opType === 'Reshape' && c.inputs[0] === p.slots[0].input && constant(c.inputs[1])), `${p.input}: C is ${c?.opType}`);
    assert.equal(direct, p.shape.length === 2, `${p.input}: reshaped only where it is not 2-D`);
    assert.deepEqual(
      p.outputShape?.reduce((a, b) => a * b, 1),
      p.shape.reduce((a, b) => a * b, 1),
    );
  }
});
