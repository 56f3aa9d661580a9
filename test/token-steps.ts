// What the token-liveness and pool-push tests share: one training step compiled with and without the pass
// (prune-tokens.ts, pool-push.ts),
// run on the same inputs and weights, and how far their losses and updates are apart; and the MatMul work a
// forward graph does.
import assert from 'node:assert/strict';
import type * as OrtTypes from 'onnxruntime-node';
import { type GraphStepOptions, type GraphTrainStep, compileGraphTrainStep } from '../src/engine/onnx/grad/graph-step.js';
import { inferShapes } from '../src/engine/onnx/grad/shapes.js';
import type { Dim, GraphValue } from '../src/engine/onnx/proto.js';
import { loadOrt } from '../src/engine/ort-runtime.js';
import { rng } from './grad-check.js';

async function runStep(step: GraphTrainStep, x: Float32Array, y: Float32Array, n: number, lr: number) {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(step.onnx, { intraOpNumThreads: 1 });
  const feeds: Record<string, OrtTypes.Tensor> = {
    [step.x]: new ort.Tensor('float32', x, [n, ...step.inputShape]),
    [step.y]: new ort.Tensor('float32', y, [n, ...step.outputShape]),
    [step.lr]: new ort.Tensor('float32', Float32Array.of(lr), []),
  };
  for (const p of step.params) {
    feeds[p.input] = new ort.Tensor('float32', p.initial, p.shape);
    for (const s of p.slots) feeds[s.input] = new ort.Tensor('float32', new Float32Array(p.initial.length), p.shape);
  }
  try {
    const out = await session.run(feeds);
    return { loss: out[step.loss].data[0] as number, updated: new Map(step.params.map((p) => [p.name, out[p.output].data as Float32Array])) };
  } finally {
    await session.release();
  }
}

/**
 * One SGD-with-momentum step with and without the pass (`without`: the options that turn it off), on random inputs
 * (batch 3) and one-hot targets: the losses, and each weight's update against the largest update of that weight.
 * Returns the worst relative gaps.
 */
export async function compareSteps(
  graph: GraphValue,
  options: Omit<GraphStepOptions, 'loss' | 'optimizer'>,
  without: Partial<GraphStepOptions> = { pruneTokens: false },
): Promise<{ loss: number; update: number }> {
  const base = { ...options, loss: 'categorical_crossentropy' as const, optimizer: { name: 'sgd' as const, momentum: 0.9 } };
  const whole = compileGraphTrainStep(graph, { ...base, ...without });
  const pruned = compileGraphTrainStep(graph, base);
  const n = 3;
  const r = rng(11);
  const x = Float32Array.from({ length: n * whole.inputShape.reduce((a, b) => a * b, 1) }, () => r.normal());
  const classes = whole.outputShape[0];
  const y = Float32Array.from({ length: n * classes }, (_, i) => (i % classes === Math.floor(i / classes) % classes ? 1 : 0));
  // A large rate: the updates, not the weights' float spacing, are compared.
  const [a, b] = [await runStep(whole, x, y, n, 10), await runStep(pruned, x, y, n, 10)];
  let update = 0;
  for (const p of whole.params) {
    const [u, v] = [a.updated.get(p.name) as Float32Array, b.updated.get(p.name) as Float32Array];
    let [gap, size] = [0, 0];
    for (let i = 0; i < u.length; i++) {
      gap = Math.max(gap, Math.abs(u[i] - v[i]));
      size = Math.max(size, Math.abs(u[i] - p.initial[i]));
    }
    assert.ok(size > 0, `'${p.name}' did not move`);
    update = Math.max(update, gap / size);
  }
  return { loss: Math.abs(a.loss - b.loss) / Math.abs(a.loss), update };
}

/** Each MatMul's and Gemm's output dims (the batch read as 1), in graph order. */
export function matmulOutputs(graph: GraphValue): number[][] {
  const facts = inferShapes(graph);
  return graph.nodes
    .filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm')
    .map((n) => (facts.get(n.outputs[0])?.dims ?? []).map((d) => (typeof d === 'number' ? d : 1)));
}

/** The elements all MatMuls and Gemms of `graph` write: the work they do, up to their inner sizes. */
export const matmulElements = (graph: GraphValue): number => matmulOutputs(graph).reduce((sum, d) => sum + d.reduce((a, b) => a * b, 1), 0);

/**
 * The output columns of the projections (MatMul or Gemm by a 2-D weight) that run over all `tokens` (on an axis of
 * their own, or merged with the batch as TorchScript's [tokens·N, width]).
 */
export function projectionColumns(graph: GraphValue, tokens: number): number {
  const facts = inferShapes(graph);
  const everyToken = (d: Dim) => d === tokens || (typeof d === 'string' && d.split('*').includes(String(tokens)));
  return graph.nodes
    .filter((n) => (n.opType === 'MatMul' || n.opType === 'Gemm') && facts.get(n.inputs[1])?.dims?.length === 2)
    .map((n) => facts.get(n.outputs[0])?.dims ?? [])
    .filter((dims) => dims.slice(0, -1).some(everyToken))
    .reduce((sum, dims) => sum + Number(dims[dims.length - 1]), 0);
}
