// What exporters fold, after a cut: shape arithmetic (fold-shapes.ts), whose integer values, Slice's INT64_MAX "to
// the end" among them, survive being read as doubles and written back as int64 constants; and attention masks
// stored as float initializers, which stay constants.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { suffixGraph } from '../src/engine/onnx/cut.js';
import { GraphBuilder } from '../src/engine/onnx/graph.js';
import { isAdditiveMask } from '../src/engine/onnx/attention-mask.js';
import { tensorInts } from '../src/engine/onnx/grad/dims.js';
import { DataType, type GraphValue, type TensorValue, encodeModel } from '../src/engine/onnx/proto.js';
import { loadOrt } from '../src/engine/ort-runtime.js';

const INT64_MAX = 2n ** 63n - 1n;

/**
 * HF Swin's patch merging as TorchScript writes it: the cut's tokens reshaped to a grid by sizes read from the
 * input's shape, then every other row by Slice(start 0, end a Constant INT64_MAX, step 2).
 */
function patchMerging(): GraphValue {
  const g = new GraphBuilder('patch_merging');
  const x = g.input('x', ['N', 16, 2]);
  const tokens = g.op('Relu', [x], {}, 'cut');
  const batch = g.op('Gather', [g.op('Shape', [x]), g.ints('first', [0])], { axis: 0 });
  const grid = g.op('Reshape', [tokens, g.op('Concat', [batch, g.ints('grid', [4, 4, 2])], { axis: 0 })]);
  const end = { name: 'end', dims: [1], dataType: DataType.INT64, raw: new Uint8Array(BigInt64Array.of(INT64_MAX).buffer) };
  const ends = g.op('Constant', [], { value: { tensor: end } });
  const rows = g.op('Slice', [grid, g.ints('start', [0]), ends, g.ints('axis', [1]), g.ints('step', [2])]);
  g.output(g.op('Flatten', [rows], {}, 'merged'), ['N', 16]);
  return g.graph();
}

test('a folded Slice end of INT64_MAX stays the end: the suffix after a cut gives what the whole graph gives', async () => {
  const ort = await loadOrt();
  const graph = patchMerging();
  const suffix = suffixGraph(graph, 'cut', { name: 'cut', dims: ['N', 16, 2] }).graph;
  assert.ok(!suffix.nodes.some((n) => n.inputs.includes('x')), 'the suffix reads the cut only');
  const whole = await ort.InferenceSession.create(encodeModel(graph));
  const after = await ort.InferenceSession.create(encodeModel(suffix));
  for (const n of [1, 2, 3]) {
    const x = Float32Array.from({ length: n * 32 }, (_, i) => (i % 7) - 3);
    const want = (await whole.run({ x: new ort.Tensor('float32', x, [n, 16, 2]) })).merged;
    const relu = x.map((v) => Math.max(v, 0));
    const got = (await after.run({ cut: new ort.Tensor('float32', relu, [n, 16, 2]) })).merged;
    assert.deepEqual(got.dims, [n, 16]);
    assert.deepEqual(got.data, want.data);
  }
  await Promise.all([whole.release(), after.release()]);
});

test('int64 constants written from doubles saturate at the int64 limits instead of wrapping', () => {
  const g = new GraphBuilder('limits');
  g.ints('limits', [2 ** 63, -(2 ** 63), 2 ** 64, -1, 5]);
  const t = g.graph().initializers[0];
  const view = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  assert.deepEqual(
    Array.from({ length: 5 }, (_, i) => view.getBigInt64(i * 8, true)),
    [INT64_MAX, -(2n ** 63n), INT64_MAX, -1n, 5n],
  );
  assert.deepEqual(tensorInts(t), [2 ** 63, -(2 ** 63), 2 ** 63, -1, 5]);
});

test("a folded additive attention mask (dynamo's Swin shifted windows: 0 and −100) is not trained; weights are", () => {
  const g = new GraphBuilder('masked_attention');
  const x = g.input('x', ['N', 4, 4]);
  const mask = g.constant('mask', [0, -100, 0, -100, -100, 0, -100, 0, 0, -100, 0, -100, -100, 0, -100, 0], [1, 4, 4]);
  const scores = g.op('Add', [
    g.op('Add', [g.op('MatMul', [x, g.constant('w', [1, 0, 0, 1, 0, 1, -100, 0, 0, 0, 1, 0, 0, 0, 0, 1], [4, 4])]), mask]),
    g.constant('zeros', new Array(4).fill(0), [4]),
  ]);
  g.output(g.op('Softmax', [scores], { axis: -1 }, 'probs'), ['N', 4, 4]);
  assert.deepEqual(suffixGraph(g.graph(), 'x', { name: 'x', dims: ['N', 4, 4] }).trainable, ['w', 'zeros']);
  const floats = (values: number[]): TensorValue => ({
    name: 't',
    dims: [values.length],
    dataType: DataType.FLOAT,
    raw: new Uint8Array(Float32Array.from(values).buffer),
  });
  assert.equal(isAdditiveMask(floats([0, -Infinity, 0])), true);
  assert.equal(isAdditiveMask(floats([0, -1e4, -100])), false, 'two different negatives');
  assert.equal(isAdditiveMask(floats([-100, -100])), false, 'no zero');
});
