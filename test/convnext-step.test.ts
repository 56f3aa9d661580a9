// ConvNeXt's MLP (Dense on the channels of a map, exact GELU, Dense back) in the Keras training graph: the form
// the step's speed depends on (issue 30), beside op-grads.test.ts's check of its gradients.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/index.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { compileTrainStep } from '../src/engine/onnx/train.js';

before(async () => {
  await initBackend('cpu');
});

function mlp(): tfl.LayersModel {
  const input = tfl.input({ shape: [4, 4, 6] });
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  let y = tfl.layers.dense({ units: 12, kernelInitializer: init(1), name: 'pw1' }).apply(input) as tfl.SymbolicTensor;
  y = tfl.layers.activation({ activation: 'gelu' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: 6, kernelInitializer: init(2), name: 'pw2' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.flatten().apply(y) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3), name: 'out' }).apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

test("ConvNeXt's MLP: SGD momentum folds into every Dense kernel's gradient Gemm, exact GELU trains fused", () => {
  const step = compileTrainStep(mlp(), { loss: 'categorical_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
  const { nodes } = decodeModel(step.onnx).graph;
  const count = (op: string) => nodes.filter((n) => n.opType === op).length;
  // v' = 0.9·v − lr·Aᵀ·dY as one Gemm per kernel (3); the biases' gradients are sums.
  const folded = nodes.filter((n) => n.opType === 'Gemm' && Math.abs(((n.attributes.beta as { float: number } | undefined)?.float ?? 0) - 0.9) < 1e-6);
  assert.equal(folded.length, 3, 'momentum folded into the kernels’ gradient Gemms');
  // Exact GELU: Erf once, its derivative from the kept Φ(x) (one Exp), no Div or Neg from the per-op rules.
  assert.equal(count('Erf'), 1);
  assert.equal(count('Exp'), 1);
  assert.equal(count('Div'), 1, 'Div nodes (the loss’s mean only)');
});
