// Depthwise Convs compiled into training steps as dense per-channel MatMuls (grad/dense-depthwise.ts): the rewritten
// graph computes the Conv's output, and its gradients (from the MatMul rules) equal those of the Conv's own rule,
// which test/onnx-grad.test.ts checks against finite differences.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileGraphTrainStep } from '../src/engine/onnx/grad/graph-step.js';
import { denseDepthwise } from '../src/engine/onnx/grad/dense-depthwise.js';
import { differentiate } from '../src/engine/onnx/grad/index.js';
import { inferShapes } from '../src/engine/onnx/grad/shapes.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { GraphBuilder } from '../src/engine/onnx/graph.js';
import { DataType, type GraphValue } from '../src/engine/onnx/proto.js';
import { loadOrt } from '../src/engine/ort-runtime.js';
import { rng } from './grad-check.js';

const count = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** x, w and b as inputs → depthwise Conv (one channel per group) → Tanh. */
function depthwiseGraph(xDims: number[], kernel: number[], attributes: Record<string, number[]>): GraphValue {
  const g = new GraphBuilder('depthwise_net');
  const c = xDims[1];
  const conv = g.op('Conv', [g.input('x', xDims), g.input('w', [c, 1, ...kernel]), g.input('b', [c])], { group: c, kernel_shape: kernel, ...attributes });
  g.op('Tanh', [conv], {}, 'out');
  return g.graph();
}

/** The output and the gradients of x, w and b for the seed, from `forward` as given. */
async function gradients(forward: GraphValue, values: Record<string, Float32Array>, dims: Record<string, number[]>) {
  const out = forward.nodes[forward.nodes.length - 1].outputs[0];
  const g = new GraphBuilder('grads');
  g.adopt(forward);
  const seed = g.input('seed', dims.seed);
  const grads = differentiate(g, forward, { loss: { value: out, seed }, wrt: ['x', 'w', 'b'] });
  g.output(out, undefined);
  for (const v of ['x', 'w', 'b']) g.output(grads.get(v) as string, undefined);
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(g.encode(17), { intraOpNumThreads: 1 });
  const feeds = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, new ort.Tensor('float32', v, dims[k])]));
  const result = await session.run(feeds);
  await session.release();
  return [out, ...['x', 'w', 'b'].map((v) => grads.get(v) as string)].map((name) => result[name].data as Float32Array);
}

describe('depthwise Convs over small inputs as dense per-channel MatMuls', () => {
  const cases: Array<[string, number[], number[], Record<string, number[]>]> = [
    ["7x7 pads 3 on 7x7 (ConvNeXt-Tiny's last stage)", [2, 3, 7, 7], [7, 7], { pads: [3, 3, 3, 3] }],
    ['3x3 stride 2, dilation 2x1, asymmetric pads on 3x4', [2, 2, 3, 4], [3, 3], { strides: [2, 2], dilations: [2, 1], pads: [1, 0, 2, 1] }],
    ['1-D 5 pads 2 on 6', [2, 3, 6], [5], { pads: [2, 2] }],
  ];
  for (const [name, xDims, kernel, attributes] of cases)
    test(`${name}: the same output and gradients as the Conv`, async () => {
      const graph = depthwiseGraph(xDims, kernel, attributes);
      const rewritten = denseDepthwise(graph, inferShapes(graph));
      assert.ok(!rewritten.nodes.some((n) => n.opType === 'Conv'), 'the Conv is rewritten');
      const c = xDims[1];
      const outDims = inferShapes(graph).get('out')?.dims as number[];
      const dims: Record<string, number[]> = { x: xDims, w: [c, 1, ...kernel], b: [c], seed: outDims };
      const r = rng(5);
      const values = Object.fromEntries(Object.entries(dims).map(([k, d]) => [k, Float32Array.from({ length: count(d) }, () => r.normal())]));
      const [expected, actual] = [await gradients(graph, values, dims), await gradients(rewritten, values, dims)];
      ['output', 'dX', 'dW', 'dB'].forEach((what, i) => {
        const scale = Math.max(...expected[i].map(Math.abs));
        const diff = Math.max(...expected[i].map((v, k) => Math.abs(v - actual[i][k])));
        assert.ok(diff <= 1e-5 * scale, `${what}: max difference ${diff} (largest value ${scale})`);
      });
    });

  test('a training step compiles it so: no Conv is left in the step of a graph whose weight trains', () => {
    const graph = depthwiseGraph([2, 3, 7, 7], [7, 7], { pads: [3, 3, 3, 3] });
    const forward = { ...graph, inputs: graph.inputs.filter((i) => i.name === 'x'), initializers: [] as GraphValue['initializers'] };
    const r = rng(6);
    for (const [name, dims] of [
      ['w', [3, 1, 7, 7]],
      ['b', [3]],
    ] as const) {
      const data = Float32Array.from({ length: count([...dims]) }, () => r.normal());
      forward.initializers.push({ name, dims: [...dims], dataType: DataType.FLOAT, raw: new Uint8Array(data.buffer) });
    }
    const step = compileGraphTrainStep(forward, { input: 'x', output: 'out', trainable: ['w', 'b'], loss: 'mse', optimizer: { name: 'sgd' } });
    assert.ok(!decodeModel(step.onnx).graph.nodes.some((n) => n.opType === 'Conv'));
  });
});
