// The pool push (grad/pool-push.ts) on hand-built ConvNeXt blocks: the global average pool moved above the last
// block's layer scale, residual Add and pointwise Dense gives the same loss and updates as the step without it, with
// that Dense computed on one row per image; graphs where the mean meets a non-linear op (LayerNorm, GELU) or a
// value another node reads first are left as they are.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pushPools } from '../src/engine/onnx/grad/pool-push.js';
import { GraphBuilder } from '../src/engine/onnx/graph.js';
import type { GraphValue } from '../src/engine/onnx/proto.js';
import { rng } from './grad-check.js';
import { compareSteps, matmulOutputs } from './token-steps.js';

const [C, HW, HIDDEN] = [4, 3, 8];
const r = rng(7);
const weight = (g: GraphBuilder, name: string, dims: number[], trained: string[]) => {
  const n = dims.reduce((a, b) => a * b, 1);
  trained.push(
    g.constant(
      name,
      Float32Array.from({ length: n }, () => r.normal() * 0.5),
      dims,
    ),
  );
  return trained[trained.length - 1];
};

/** Exact GELU as the exporters write it: x·(1 + erf(x/√2))·0.5. */
const gelu = (g: GraphBuilder, h: string) =>
  g.op('Mul', [
    g.op('Mul', [h, g.op('Add', [g.op('Erf', [g.op('Div', [h, g.constant('sqrt2', [Math.SQRT2], [])])]), g.constant('one', [1], [])])]),
    g.constant('half', [0.5], []),
  ]);

type Pool = 'gap' | 'mean-axes-input' | 'mean-dropped';
type Ending = 'block' | 'linear-ops' | 'layernorm' | 'gelu' | 'shared' | 'quotient' | 'channels';
interface Form {
  /** Channels first with Transposes around the MLP (torchvision, timm), or channels last throughout (Keras). */
  nchw: boolean;
  pool: Pool;
  ending: Ending;
}

/** The global average pool as each exporter writes it: GlobalAveragePool, ReduceMean with axes as an input (opset 18), or as an attribute, dropping them. */
function pool(g: GraphBuilder, kind: Pool, x: string, axes: number[]): string {
  if (kind === 'gap') return g.op('GlobalAveragePool', [x]);
  if (kind === 'mean-axes-input')
    return g.op(
      'ReduceMean',
      [
        x,
        g.ints(
          'axes',
          axes.map((a) => a - 4),
        ),
      ],
      { keepdims: 1 },
    );
  return g.op('ReduceMean', [x], { axes, keepdims: 0 });
}

/** The block after the GELU: Dense, layer scale, the residual Add (then a LayerNorm, for `ending` 'layernorm'). */
function tail(g: GraphBuilder, form: Form, h: string, x: string, t: string[]): { read: string; z: string } {
  const z = g.op('Add', [weight(g, 'b2', [C], t), g.op('MatMul', [h, weight(g, 'w2', [HIDDEN, C], t)])]);
  if (form.ending === 'channels') return { read: z, z };
  const back = form.nchw ? g.op('Transpose', [z], { perm: [0, 3, 1, 2] }) : z;
  let scaled = g.op('Mul', [weight(g, 'layer_scale', form.nchw ? [C, 1, 1] : [C], t), back]);
  if (form.ending === 'linear-ops') {
    // Every other linear rule on the way: −((s − c) / 2), through an Identity.
    const shifted = g.op('Sub', [scaled, weight(g, 'shift', [C, 1, 1], t)]);
    scaled = g.op('Identity', [g.op('Neg', [g.op('Div', [shifted, g.constant('two', [2], [])])])]);
  }
  const out = g.op('Add', [scaled, x]);
  // A quotient by a value that varies over the positions is not linear: out / (1 + x²).
  if (form.ending === 'quotient') return { read: g.op('Div', [out, g.op('Add', [g.op('Mul', [x, x]), g.constant('one', [1], [])])]), z };
  if (form.ending !== 'layernorm') return { read: out, z };
  return { read: g.op('LayerNormalization', [out, weight(g, 'ln2_scale', [C], t), weight(g, 'ln2_bias', [C], t)], { axis: -1 }), z };
}

/**
 * A ConvNeXt block's MLP half on a [N, C, 3, 3] (or [N, 3, 3, C]) map: LayerNorm over the channels, Dense, GELU,
 * Dense, layer scale, the residual Add; `ending` says what the pool reads. Then the pool, a Gemm head, a softmax.
 */
function convnext(form: Form): { graph: GraphValue; trainable: string[]; opset: number } {
  const g = new GraphBuilder('tiny_convnext');
  const t: string[] = [];
  const x = g.input('x', form.nchw ? ['N', C, HW, HW] : ['N', HW, HW, C]);
  const last = form.nchw ? g.op('Transpose', [x], { perm: [0, 2, 3, 1] }) : x;
  const ln = g.op('LayerNormalization', [last, weight(g, 'ln_scale', [C], t), weight(g, 'ln_bias', [C], t)], { axis: -1, epsilon: { float: 1e-6 } });
  const h = gelu(g, g.op('Add', [g.op('MatMul', [ln, weight(g, 'w1', [C, HIDDEN], t)]), weight(g, 'b1', [HIDDEN], t)]));
  // The GELU read by the pool alone: the block ends there.
  const { read, z } = form.ending === 'gelu' ? { read: h, z: '' } : tail(g, form, h, x, t);
  // The mean over the positions, or (for 'channels') over the channels of the Dense's output: its columns.
  const spatial = form.ending === 'channels' ? [3] : form.nchw ? [2, 3] : [1, 2];
  let features = g.op('Flatten', [pool(g, form.pool, read, spatial)], { axis: 1 });
  if (form.ending === 'shared') {
    // The Dense's output read by a second reader too: the mean stops above it.
    features = g.op('Add', [features, g.op('ReduceMax', [z], { axes: [1, 2], keepdims: 0 })]);
  }
  const width = form.ending === 'gelu' ? HIDDEN : form.ending === 'channels' ? HW * HW : C;
  g.op('Softmax', [g.op('Gemm', [features, weight(g, 'w_head', [width, 3], t), weight(g, 'b_head', [3], t)])], { axis: -1 }, 'probs');
  return { graph: g.graph(), trainable: t, opset: form.pool === 'mean-axes-input' ? 18 : 17 };
}

/** The graph after the pass, and whether it changed. */
function pushed(model: ReturnType<typeof convnext>): { graph: GraphValue; changed: boolean } {
  const g = new GraphBuilder(model.graph.name);
  g.adopt(model.graph);
  const changed = pushPools(g, model.opset, ['probs']);
  return { graph: g.graph(), changed };
}

const check = async (model: ReturnType<typeof convnext>) => {
  const gaps = await compareSteps(model.graph, { input: 'x', output: 'probs', trainable: model.trainable, opset: model.opset }, { pushPools: false });
  assert.ok(gaps.loss < 1e-6 && gaps.update < 1e-4, `the pushed step differs from the unrewritten one: ${JSON.stringify(gaps)}`);
};

describe('pool push: the global average pool moved above the last linear ops', () => {
  const forms: Form[] = [
    { nchw: true, pool: 'gap', ending: 'block' },
    { nchw: true, pool: 'mean-axes-input', ending: 'block' },
    { nchw: true, pool: 'mean-dropped', ending: 'block' },
    { nchw: false, pool: 'mean-dropped', ending: 'block' },
    { nchw: true, pool: 'gap', ending: 'linear-ops' },
  ];
  for (const form of forms) {
    test(`${form.nchw ? 'NCHW' : 'NHWC'} ${form.pool}, ${form.ending}: same loss and updates; the last Dense runs on one row per image`, async () => {
      const model = convnext(form);
      const after = pushed(model);
      assert.ok(after.changed);
      const [before, moved] = [matmulOutputs(model.graph), matmulOutputs(after.graph)];
      // The first Dense stays on every position; the second on the pooled row (the axes kept or dropped as the pool does).
      assert.deepEqual(before.slice(0, 2), [
        [1, HW, HW, HIDDEN],
        [1, HW, HW, C],
      ]);
      assert.deepEqual(moved.slice(0, 2), [[1, HW, HW, HIDDEN], form.pool === 'mean-dropped' ? [1, C] : [1, 1, 1, C]]);
      assert.equal(after.graph.nodes.filter((n) => n.opType === 'GlobalAveragePool').length, 0);
      await check(model);
    });
  }

  test('a LayerNorm, GELU or quotient by a varying value right before the pool, a Dense output another node reads, a mean over channels: the graph is left as it is', async () => {
    for (const ending of ['layernorm', 'gelu', 'quotient', 'shared', 'channels'] as const) {
      const model = convnext({ nchw: ending === 'shared', pool: 'mean-dropped', ending });
      const count = model.graph.nodes.length;
      const after = pushed(model);
      assert.equal(after.changed, false, ending);
      assert.equal(after.graph.nodes.length, count, ending);
      assert.deepEqual(matmulOutputs(after.graph).slice(0, 2), matmulOutputs(model.graph).slice(0, 2), ending);
      await check(model);
    }
  });
});
