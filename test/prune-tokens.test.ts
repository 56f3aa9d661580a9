// Token liveness (grad/prune-tokens.ts) on hand-built ViTs: the last block computed for the tokens the output
// reads gives the same loss and updates as the whole step, and does less work; graphs whose output reads every
// token are left as they are.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pruneTokens } from '../src/engine/onnx/grad/prune-tokens.js';
import { inferShapes } from '../src/engine/onnx/grad/shapes.js';
import { GraphBuilder } from '../src/engine/onnx/graph.js';
import type { GraphValue } from '../src/engine/onnx/proto.js';
import { rng } from './grad-check.js';
import { compareSteps, matmulOutputs } from './token-steps.js';

const [TOKENS, WIDTH, HEADS, HIDDEN] = [5, 8, 2, 16];
const r = rng(5);
const weight = (g: GraphBuilder, name: string, dims: number[], trained: string[]) => {
  trained.push(
    g.constant(
      name,
      Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r.normal() * 0.4),
      dims,
    ),
  );
  return trained[trained.length - 1];
};

/** LayerNorm over the last axis with trained scale and bias. */
const norm = (g: GraphBuilder, x: string, t: string[]) =>
  g.op('LayerNormalization', [x, weight(g, 'ln_scale', [WIDTH], t), weight(g, 'ln_bias', [WIDTH], t)], { axis: -1, epsilon: { float: 1e-5 } });

/** q, k and v of the packed [3, N, heads, tokens, d]: by three Gathers (torchvision, dynamo) or one Split (timm's TorchScript). */
type Unbind = (g: GraphBuilder, heads: string) => string[];
const gathered: Unbind = (g, heads) => [0, 1, 2].map((i) => g.op('Gather', [heads, g.ints('which', [i])], { axis: 0 }));
const split: Unbind = (g, heads) => g.ops('Split', [heads, g.ints('sizes', [1, 1, 1])], 3, { axis: 0 });

/**
 * A pre-norm encoder block as torchvision's and timm's exports write it: a packed qkv projection unbound into q, k
 * and v, the scale 1/√d from the Shape of q, the heads merged back by a Reshape whose target is computed, an Erf
 * GELU MLP.
 */
function block(g: GraphBuilder, x: string, t: string[], unbind: Unbind): string {
  const d = WIDTH / HEADS;
  const qkv = g.op('Add', [g.op('MatMul', [norm(g, x, t), weight(g, 'w_qkv', [WIDTH, 3 * WIDTH], t)]), weight(g, 'b_qkv', [3 * WIDTH], t)]);
  const heads = g.op('Transpose', [g.op('Reshape', [qkv, g.ints('shape', [-1, TOKENS, 3, HEADS, d])])], { perm: [2, 0, 3, 1, 4] });
  const [q, k, v] = unbind(g, heads);
  const [q1, k1, v1] = [q, k, v].map((s) => g.op('Squeeze', [s, g.ints('axes', [0])]));
  const dk = g.op('Cast', [g.op('Slice', [g.op('Shape', [q1]), g.ints('last', [-1]), g.ints('end', [100])])], { to: 1 });
  const scores = g.op('MatMul', [g.op('Mul', [q1, g.op('Reciprocal', [g.op('Sqrt', [dk])])]), g.op('Transpose', [k1], { perm: [0, 1, 3, 2] })]);
  const attended = g.op('Transpose', [g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v1])], { perm: [0, 2, 1, 3] });
  const target = g.op('Concat', [g.op('Slice', [g.op('Shape', [x]), g.ints('start', [0]), g.ints('end', [2])]), g.ints('width', [WIDTH])], { axis: 0 });
  const merged = g.op('Reshape', [attended, target]);
  const x1 = g.op('Add', [x, g.op('Add', [g.op('MatMul', [merged, weight(g, 'w_out', [WIDTH, WIDTH], t)]), weight(g, 'b_out', [WIDTH], t)])]);
  const h = g.op('Add', [g.op('MatMul', [norm(g, x1, t), weight(g, 'w_fc1', [WIDTH, HIDDEN], t)]), weight(g, 'b_fc1', [HIDDEN], t)]);
  const gelu = g.op('Mul', [
    g.op('Mul', [h, g.op('Add', [g.op('Erf', [g.op('Div', [h, g.constant('sqrt2', [Math.SQRT2], [])])]), g.constant('one', [1], [])])]),
    g.constant('half', [0.5], []),
  ]);
  return g.op('Add', [x1, g.op('Add', [g.op('MatMul', [gelu, weight(g, 'w_fc2', [HIDDEN, WIDTH], t)]), weight(g, 'b_fc2', [WIDTH], t)])]);
}

/** Two blocks, the final norm, `pool` over the tokens, a Gemm head and a softmax over 3 classes. */
function vit(pool: (g: GraphBuilder, x: string) => string, unbind = gathered): { graph: GraphValue; trainable: string[] } {
  const g = new GraphBuilder('tiny_vit');
  const t: string[] = [];
  const x = block(g, block(g, g.input('x', ['N', TOKENS, WIDTH]), t, unbind), t, unbind);
  const features = pool(g, norm(g, x, t));
  g.op('Softmax', [g.op('Gemm', [features, weight(g, 'w_head', [WIDTH, 3], t), weight(g, 'b_head', [3], t)])], { axis: -1 }, 'probs');
  return { graph: g.graph(), trainable: t };
}

const scalarIndex = (g: GraphBuilder, i: number) => g.op('Squeeze', [g.ints('token', [i]), g.ints('axes', [0])]);
const classToken = (g: GraphBuilder, x: string) => g.op('Gather', [x, scalarIndex(g, 0)], { axis: 1 });
/** DeiT's class and distillation tokens, averaged. */
const twoTokens = (g: GraphBuilder, x: string) =>
  g.op('Mul', [g.op('Add', [classToken(g, x), g.op('Gather', [x, scalarIndex(g, 1)], { axis: 1 })]), g.constant('half', [0.5], [])]);
/** The class token by a Slice, `x[:, :1]`, then Flatten. */
const slicedToken = (g: GraphBuilder, x: string) =>
  g.op('Flatten', [g.op('Slice', [x, g.ints('start', [0]), g.ints('end', [1]), g.ints('axes', [1])])], { axis: 1 });
const meanPool = (g: GraphBuilder, x: string) => g.op('ReduceMean', [x], { axes: [1], keepdims: 0 });
/** timm's `global_pool='avg'` with a class token: the mean of the other tokens. */
const prefixMean = (g: GraphBuilder, x: string) => meanPool(g, g.op('Slice', [x, g.ints('start', [1]), g.ints('end', [TOKENS]), g.ints('axes', [1])]));

const pruned = (graph: GraphValue) => pruneTokens(graph, inferShapes(graph), 17, ['probs']);
const check = async (model: ReturnType<typeof vit>) => {
  const gaps = await compareSteps(model.graph, { input: 'x', output: 'probs', trainable: model.trainable });
  assert.ok(gaps.loss < 1e-6 && gaps.update < 1e-4, `pruned step differs from the whole one: ${JSON.stringify(gaps)}`);
};

/** The step equals the whole one, and the second block computes k and v for every token, the rest for the class token. */
async function classTokenBlock(model: ReturnType<typeof vit>) {
  await check(model);
  const before = matmulOutputs(model.graph);
  const after = matmulOutputs(pruned(model.graph));
  // Per block: qkv, q·kᵀ, p·v, out-projection, fc1, fc2; then the head.
  assert.deepEqual(before.slice(6, 12), [
    [1, TOKENS, 3 * WIDTH],
    [1, HEADS, TOKENS, TOKENS],
    [1, HEADS, TOKENS, 4],
    [1, TOKENS, WIDTH],
    [1, TOKENS, HIDDEN],
    [1, TOKENS, WIDTH],
  ]);
  assert.deepEqual(after.slice(0, 6), before.slice(0, 6), 'the first block is computed whole');
  // The packed projection split: k and v for every token, q for the class token.
  assert.deepEqual(after.slice(6, 13), [
    [1, TOKENS, 2 * WIDTH],
    [1, 1, WIDTH],
    [1, HEADS, 1, TOKENS],
    [1, HEADS, 1, 4],
    [1, 1, WIDTH],
    [1, 1, HIDDEN],
    [1, 1, WIDTH],
  ]);
}

describe('token liveness: the last block computed for the tokens the output reads', () => {
  test('class token: same loss and updates; the last block runs its queries, MLP, out-projection and attention rows for one token', async () => {
    for (const unbind of [gathered, split]) await classTokenBlock(vit(classToken, unbind));
  });

  test("DeiT's two tokens (two Gathers), or the class token by a Slice: the same step", async () => {
    for (const [pool, tokens] of [
      [twoTokens, 2],
      [slicedToken, 1],
    ] as const) {
      const model = vit(pool);
      await check(model);
      assert.deepEqual(matmulOutputs(pruned(model.graph)).slice(6, 8), [
        [1, TOKENS, 2 * WIDTH],
        [1, tokens, WIDTH],
      ]);
      assert.deepEqual(matmulOutputs(pruned(model.graph))[11], [1, tokens, HIDDEN]);
    }
  });

  test('mean pooling, over all tokens or all but the class token: the graph is left as it is', async () => {
    for (const pool of [meanPool, prefixMean]) {
      const model = vit(pool);
      assert.equal(pruned(model.graph), model.graph);
      await check(model);
    }
  });
});
