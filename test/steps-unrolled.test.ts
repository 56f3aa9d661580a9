// Groups of K training steps in one ONNX Runtime run (src/engine/onnx/unroll.ts, OrtStepTrainer.steps): the same
// losses, outputs, weights, optimizer slots and state as K single steps, for Keras steps and exported-graph steps.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import ort from 'onnxruntime-node';
import { initBackend } from '../src/engine/backend.js';
import { GraphTrainer, fineTuneGraph } from '../src/engine/graph-trainer.js';
import { GraphBuilder } from '../src/engine/onnx/graph.js';
import type { StepWeight } from '../src/engine/onnx/step.js';
import type { OptimizerSpec } from '../src/engine/optimizers.js';
import { loadOnnxBase } from '../src/engine/onnx-base.js';
import { OrtStepTrainer, type TrainableStep, autoStepsPerRun, openStepSession } from '../src/engine/ort-step-trainer.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import type { StepBatch, StepResult, Trainer, TrainerOptions } from '../src/engine/training.js';
import { takeSteps } from '../src/engine/training.js';
import { tempDir } from './helpers.js';
import { exportedVitFineTune, hasDebianTorch } from './exported-vit.js';
import { convBase, headModel, run } from './onnx-parity.js';

before(async () => {
  await initBackend('cpu');
});

/** Seeded values in [-1, 1). */
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) % 1);
const oneHot = (n: number, classes: number, seed: number) =>
  Float32Array.from({ length: n * classes }, (_, i) => (i % classes === (Math.floor(i / classes) + seed) % classes ? 1 : 0));

/** Batches of the given sizes (the last of a group may be smaller), lr changing per step. */
function batches(sizes: number[], features: number, classes: number, weighted: boolean): StepBatch[] {
  return sizes.map((n, s) => ({
    x: values(n * features, s + 1),
    y: oneHot(n, classes, s),
    n,
    lr: 0.05 / (1 + s),
    ...(weighted ? { weights: Float32Array.from({ length: n }, (_, i) => 0.5 + ((i + s) % 3)) } : {}),
  }));
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * Math.max(1, Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

/** The group trainer's results and state equal one `step` after another's. */
async function assertSameAsSingle(make: (stepsPerExecution: number) => Promise<Trainer>, k: number, list: StepBatch[]): Promise<void> {
  const single = await make(1);
  const grouped = await make(k);
  try {
    assert.equal(single.stepsPerRun, 1);
    assert.equal(grouped.stepsPerRun, k);
    const want: StepResult[] = [];
    for (const b of list) want.push(await single.step(b.x, b.y, b.n, b.lr, b.weights));
    const got = await takeSteps(grouped, list);
    assert.equal(got.length, want.length);
    got.forEach((r, i) => {
      close([r.loss], [want[i].loss], `loss of step ${i}`);
      close(r.output, want[i].output, `output of step ${i}`);
    });
    const [a, b] = [grouped.snapshot(), single.snapshot()];
    a.forEach((w, i) => close(w, b[i], `weight ${i}`));
    const [sa, sb] = [grouped.state?.(), single.state?.()];
    assert.ok(sa && sb);
    assert.equal(sa.iterations, sb.iterations);
    assert.equal(sa.maskDraws, sb.maskDraws);
    sa.slots.forEach((s, i) => s.forEach((v, j) => close(v, sb.slots[i][j], `slot ${j} of weight ${i}`)));
  } finally {
    await single.dispose();
    await grouped.dispose();
  }
}

/** Flatten → Dense(8, relu) → Dropout? → Dense(3, softmax) on [2, 2, 3] inputs. */
function head(dropout: number): tfl.LayersModel {
  const layers: tfl.layers.Layer[] = [
    tfl.layers.flatten({ inputShape: [2, 2, 3] }),
    tfl.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }), biasInitializer: 'ones' }),
  ];
  if (dropout) layers.push(tfl.layers.dropout({ rate: dropout }));
  layers.push(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  return tfl.sequential({ layers });
}

describe('K steps in one run equal K single steps (Keras steps)', () => {
  // Groups of 3 over 7 batches: two full groups (the second with a smaller last batch) and one single step.
  const sizes = [4, 4, 4, 4, 4, 2, 3];
  const cases: Array<[string, OptimizerSpec, number, boolean]> = [
    ['SGD with momentum', { name: 'sgd', momentum: 0.9 }, 0, false],
    ['Adam, dropout and sample weights', { name: 'adam' }, 0.5, true],
  ];
  for (const [what, optimizer, dropout, weighted] of cases)
    test(what, async () => {
      const model = head(dropout);
      const options: TrainerOptions = { loss: 'categorical_crossentropy', optimizer, seed: 7, weighted };
      await assertSameAsSingle((k) => OrtTrainer.create(model, { ...options, stepsPerExecution: k }), 3, batches(sizes, 12, 3, weighted));
    });

  test('state() after a group and loadState: the next group is the one the saved trainer would take', async () => {
    const model = head(0.5);
    const options: TrainerOptions = { loss: 'categorical_crossentropy', optimizer: { name: 'adam' }, seed: 7, stepsPerExecution: 2 };
    const list = batches([4, 4, 4, 4], 12, 3, false);
    const first = await OrtTrainer.create(model, options);
    const resumed = await OrtTrainer.create(model, options);
    try {
      await first.steps(list.slice(0, 2));
      resumed.restore(first.snapshot());
      resumed.loadState(first.state());
      const [a, b] = [await first.steps(list.slice(2)), await resumed.steps(list.slice(2))];
      a.forEach((r, i) => close(r.output, b[i].output, `output ${i}`));
      first.snapshot().forEach((w, i) => close(w, resumed.snapshot()[i], `weight ${i}`));
      assert.deepEqual(first.state().iterations, 4);
    } finally {
      await first.dispose();
      await resumed.dispose();
    }
  });
});

describe('K steps in one run equal K single steps (exported-graph steps)', () => {
  test('a two-conv base made without Python: conv2 and the head, SGD with momentum', async () => {
    const file = path.join(tempDir(), 'conv.onnx');
    const size = 8;
    await convBase(file, size);
    const base = loadOnnxBase(file, { inputSize: size });
    const cut = base.model.graph.nodes.find((n) => n.opType === 'Relu')?.outputs[0] as string;
    const ft = await fineTuneGraph(base.prefix, cut, headModel(5, 2));
    const options: TrainerOptions = { loss: 'categorical_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } };
    await assertSameAsSingle((k) => GraphTrainer.create(ft, { ...options, stepsPerExecution: k }), 2, batches([3, 3, 2, 3, 3], 4 * 6 * 6, 2, false));
  });

  const hasTorch = hasDebianTorch('the exported ViT group test');
  test('a torchvision ViT exported at test time: its last block and a head, Adam', { skip: hasTorch ? false : 'torch is absent' }, async () => {
    const { base, ft } = await exportedVitFineTune();
    const n = 6;
    const pixels = Float32Array.from({ length: n * 64 * 64 * 3 }, (_, i) => (i * 37) % 255);
    const x = (await run(ft.prefix, { [base.prefix.graph.inputs[0].name]: new ort.Tensor('float32', pixels, [n, 64, 64, 3]) })).data as Float32Array;
    const per = x.length / n;
    const list = [0, 2, 4].map((at, s) => ({ x: x.slice(at * per, (at + 2) * per), y: oneHot(2, 3, s), n: 2, lr: 1e-3 }));
    const options: TrainerOptions = { loss: 'categorical_crossentropy', optimizer: { name: 'adam' } };
    await assertSameAsSingle((k) => GraphTrainer.create(ft, { ...options, stepsPerExecution: k }), 3, list);
  });
});

/**
 * A hand-made step whose weight comes out in another shape than it goes in ([2, 3] in, [3, 2] out, as
 * fold-momentum's Gemm outputs do): x·w against y, w − lr·xᵀ(x·w − y) given back as [3, 2].
 */
class ReshapedStep extends OrtStepTrainer<TrainableStep> {
  static async create(stepsPerExecution: number): Promise<ReshapedStep> {
    const g = new GraphBuilder('reshaped');
    const [x, y, lr, w] = [g.input('x', ['N', 2]), g.input('y', ['N', 3]), g.input('lr', []), g.input('w', [2, 3])];
    const out = g.op('MatMul', [x, w]);
    const diff = g.op('Sub', [out, y]);
    g.output(g.op('ReduceMean', [g.op('Mul', [diff, diff])], { keepdims: 0 }), []);
    const grad = g.op('MatMul', [g.op('Transpose', [x], { perm: [1, 0] }), diff]);
    const p: StepWeight = {
      input: w,
      output: g.op('Reshape', [g.op('Sub', [w, g.op('Mul', [grad, lr])]), g.ints('shape', [3, 2])]),
      shape: [2, 3],
      outputShape: [3, 2],
      slots: [],
    };
    const output = g.op('Identity', [out]);
    g.output(output, ['N', 3]);
    g.output(p.output, [3, 2]);
    const graph = g.graph();
    const step = { onnx: g.encode(), x, y, lr, inputShape: [2], outputShape: [3], loss: graph.outputs[0].name, output, params: [p] };
    const { ort, session } = await openStepSession(step.onnx, 'the reshaped step');
    return new ReshapedStep(ort, session, step, { loss: 'mse', optimizer: { name: 'sgd' }, stepsPerExecution }, [values(6, 9)]);
  }

  writeBack(): void {}
}

test('an update given back in another shape is reshaped between the copies', async () => {
  const list = [0, 1, 2].map((s) => ({ x: values(8, s), y: values(12, s + 5), n: 4, lr: 0.1 }));
  await assertSameAsSingle((k) => ReshapedStep.create(k), 3, list);
});

describe('the automatic group size', () => {
  const dense = (units: number, inputs: number) => {
    const m = tfl.sequential({ layers: [tfl.layers.dense({ units, inputShape: [inputs], activation: 'softmax' })] });
    return OrtTrainer.create(m, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd', momentum: 0.9 } });
  };
  test('groups of 4 for a small step, 8 above 16 M floats of weights and slots (the copy out of each run is larger)', async () => {
    const small = await dense(3, 8);
    // 2,900 × 2,800 weights + their momentum: 16.2 M floats.
    const large = await dense(2800, 2900);
    try {
      assert.equal(small.stepsPerRun, 4);
      assert.equal(large.stepsPerRun, 8);
    } finally {
      await small.dispose();
      await large.dispose();
    }
  });

  test('fewer steps a run where K copies would pass 8,000 nodes, by the state’s size', () => {
    // autoStepsPerRun reads only the graph's node count and the weights' and slots' sizes.
    const step = (nodes: number, floats: number) => {
      const g = new GraphBuilder('chain');
      let v = g.input('x', [1]);
      for (let i = 0; i < nodes; i++) v = g.op('Relu', [v]);
      g.output(v, [1]);
      const params = [{ shape: [floats / 2], slots: [{}] }];
      return { onnx: g.encode(), params } as unknown as TrainableStep;
    };
    const large = 20_000_000;
    assert.deepEqual(
      [100, 1500, 3000, 5000].map((n) => autoStepsPerRun(step(n, large))),
      [8, 4, 2, 1],
    );
    assert.deepEqual(
      [100, 1500, 3000, 5000].map((n) => autoStepsPerRun(step(n, 1000))),
      [4, 4, 2, 1],
    );
  });
});
