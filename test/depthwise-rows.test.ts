// The training step's DepthwiseConv2D (keras-layers/conv-train.ts): over maps up to 128 wide the rows form
// (depthwise-rows.ts: MatMuls over image rows, channels first), wider the im2col form. Each shape's output and its
// fused gradients of x, the kernel and the bias, run in ONNX Runtime, against tfjs's depthwiseConv2d and autograd:
// strides 1 and 2, 'same' (TF's asymmetric padding) and 'valid', square and oblong maps, 3×3 to 7×7 kernels; x
// channels last and channels first (keras-layers/channels-first.ts).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/index.js';
import { GraphBuilder } from '../src/engine/onnx/graph.js';
import { isChannelsFirst, markChannelsFirst, toChannelsFirst, toChannelsLast } from '../src/engine/onnx/keras-layers/channels-first.js';
import { depthwiseConv2d } from '../src/engine/onnx/keras-layers/conv-train.js';
import { rowsFit } from '../src/engine/onnx/keras-layers/depthwise-rows.js';
import { Tape } from '../src/engine/onnx/keras-layers/tape.js';
import { windowOf } from '../src/engine/onnx/keras-layers/window.js';
import { loadOrt } from '../src/engine/ort-runtime.js';

before(() => initBackend('cpu'));

interface Shape {
  h: number;
  w: number;
  k: number;
  s: number;
  pad: 'same' | 'valid';
}

/**
 * y, dX, dW and db from the compiled graph for x [2, H, W, C], kernel [K, K, C, 1], bias [C] and seed dY, all fed and
 * read channels last; `inFirst`: x reaches the convolution channels first ([C, N·H·W], an expand convolution's
 * output) and dX leaves it so. A channels-first output (the rows form's) takes its seed and gives y channels first.
 */
async function compiled({ h, w, k, s, pad }: Shape, c: number, feeds: Record<string, tf.Tensor>, inFirst: boolean): Promise<Float32Array[]> {
  const g = new GraphBuilder('depthwise');
  const win = windowOf(h, w, k, k, s, pad);
  const [x, kernel, bias, dy] = [g.input('x', [2, h, w, c]), g.input('kernel', [k, k, c, 1]), g.input('bias', [c]), g.input('dy', [2, win.oh, win.ow, c])];
  const t = new Tape(g);
  const xin = inFirst ? markChannelsFirst(t, toChannelsFirst(g, x, c), [h, w, c]) : x;
  const y = depthwiseConv2d(t, xin, kernel, bias, win, c);
  const outFirst = isChannelsFirst(t, y);
  const fused = t.fused.get(y);
  assert.ok(fused, 'the convolution registers its backward');
  const grads = fused.backward(outFirst ? toChannelsFirst(g, dy, c) : dy, () => true).slice(0, 3) as string[];
  const outs = [outFirst ? toChannelsLast(g, y, [win.oh, win.ow, c]) : y, inFirst ? toChannelsLast(g, grads[0], [h, w, c]) : grads[0], ...grads.slice(1)];
  for (const o of outs) g.output(o, undefined);
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(g.encode(), { intraOpNumThreads: 1 });
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([n, v]) => [n, new ort.Tensor('float32', v.dataSync() as Float32Array, v.shape)]));
  const result = await session.run(ortFeeds);
  await session.release();
  return outs.map((o) => result[o].data as Float32Array);
}

function assertClose(actual: Float32Array, expected: tf.Tensor, what: string): void {
  const e = expected.dataSync();
  assert.equal(actual.length, e.length, `${what}: size`);
  const scale = Math.max(1e-6, ...Array.from(e, Math.abs));
  const err = actual.reduce((m, v, i) => Math.max(m, Math.abs(v - e[i])), 0);
  assert.ok(err / scale <= 1e-5, `${what}: relative error ${err / scale}`);
}

describe('DepthwiseConv2D in the training step, against tfjs', () => {
  const shapes: Shape[] = [
    { h: 7, w: 7, k: 3, s: 1, pad: 'same' },
    { h: 6, w: 5, k: 3, s: 2, pad: 'same' },
    { h: 7, w: 9, k: 3, s: 2, pad: 'valid' },
    { h: 9, w: 6, k: 5, s: 2, pad: 'same' },
    { h: 7, w: 7, k: 7, s: 1, pad: 'same' },
    { h: 5, w: 8, k: 3, s: 1, pad: 'valid' },
    // Wider than the rows form's bound: im2col.
    { h: 3, w: 130, k: 3, s: 1, pad: 'same' },
    { h: 4, w: 131, k: 5, s: 2, pad: 'same' },
  ];
  for (const shape of shapes) {
    const { h, w, k, s, pad } = shape;
    const form = rowsFit(windowOf(h, w, k, k, s, pad)) ? 'rows' : 'im2col';
    // The rows form takes x in either layout and gives its output channels first; im2col's is channels last.
    for (const inFirst of form === 'rows' ? [false, true] : [false]) {
      test(`${h}x${w}, ${k}x${k} stride ${s} ${pad} (${form}), x channels ${inFirst ? 'first' : 'last'}: output and gradients of x, kernel and bias`, async () => {
        const c = 4;
        const x = tf.randomNormal([2, h, w, c], 0, 1, 'float32', 1) as tf.Tensor4D;
        const kernel = tf.randomNormal([k, k, c, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
        const bias = tf.randomNormal([c], 0, 1, 'float32', 3) as tf.Tensor1D;
        const forward = (a: tf.Tensor4D, b: tf.Tensor4D, d: tf.Tensor1D) => tf.add(tf.depthwiseConv2d(a, b, s, pad), d) as tf.Tensor4D;
        const y = forward(x, kernel, bias);
        const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 4);
        const expected = tf.grads((a, b, d) => tf.sum(tf.mul(forward(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor1D), dy)))([x, kernel, bias]);
        const [cy, cdx, cdw, cdb] = await compiled(shape, c, { x, kernel, bias, dy }, inFirst);
        assertClose(cy, y, 'output');
        assertClose(cdx, expected[0], 'dX');
        assertClose(cdw, expected[1], 'dW');
        assertClose(cdb, expected[2], 'db');
      });
    }
  }
});
