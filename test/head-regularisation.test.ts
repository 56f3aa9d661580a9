import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rmSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, trainImageClassifier } from '../src/index.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { TfjsTrainer } from '../src/engine/tfjs-trainer.js';
import type { Trainer, TrainerOptions } from '../src/engine/training.js';
import { loadImageBatch, photoSource } from '../src/data/batches.js';
import { memoryStore } from '../src/train/features/store.js';
import { planData } from '../src/train/fit/data-plan.js';
import { channelStats, foldInto, pooledRows, standardized } from '../src/train/fit/standardize.js';
import { joinStores } from '../src/train/fit/refit.js';
import { CallbackList } from '../src/train/fit/callbacks.js';
import { phaseCallbacks } from '../src/train/fit/epoch-loop.js';
import { AUTO_PATIENCE } from '../src/train/defaults.js';
import { makeImageFolder, tempDir } from './helpers.js';

before(async () => {
  await initBackend('cpu');
});

/** `gap, dropout, dense:2:softmax` on 2×2×3 feature maps, with fixed weights. */
function head(): tfl.Sequential {
  const glorot = tfl.initializers.glorotUniform({ seed: 2 });
  return tfl.sequential({
    layers: [
      tfl.layers.globalAveragePooling2d({ inputShape: [2, 2, 3], name: 'gap' }),
      tfl.layers.dropout({ rate: 0.5, name: 'drop' }),
      // A nonzero bias, so folding the mean into it is tested too.
      tfl.layers.dense({ units: 2, activation: 'softmax', name: 'out', kernelInitializer: glorot, biasInitializer: tfl.initializers.constant({ value: 0.3 }) }),
    ],
  });
}

const X = Float32Array.from({ length: 4 * 12 }, (_, i) => Math.sin(i * 1.7) * 2 + 1);
const Y = Float32Array.of(1, 0, 0, 1, 0, 1, 1, 0);

/** The Dense layer's kernel and bias after one SGD step (rate 0.1, no momentum; the same seeded dropout masks). */
async function oneStep(create: (m: tfl.LayersModel, o: TrainerOptions) => Promise<Trainer>, l2: number): Promise<Float32Array[]> {
  const model = head();
  const trainer = await create(model, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd' }, seed: 5, l2 });
  await trainer.step(X, Y, 4, 0.1);
  trainer.writeBack();
  await trainer.dispose();
  return model
    .getLayer('out')
    .getWeights()
    .map((w) => w.dataSync() as Float32Array);
}

describe('an L2 kernel penalty (Keras kernel_regularizer=l2) adds 2·l2·w to the gradient in both engines', () => {
  const engines: Array<[string, (m: tfl.LayersModel, o: TrainerOptions) => Promise<Trainer>]> = [
    ['ONNX Runtime', (m, o) => OrtTrainer.create(m, o)],
    ['tfjs', (m, o) => TfjsTrainer.create(m, o, 'cpu')],
  ];
  for (const [name, create] of engines) {
    test(name, async () => {
      const l2 = 0.3;
      const initial = head().getLayer('out').getWeights()[0].dataSync();
      const [plainKernel, plainBias] = await oneStep(create, 0);
      const [kernel, bias] = await oneStep(create, l2);
      // SGD: w − lr·(g + 2·l2·w), so the two runs differ by lr·2·l2·w₀ on the kernel and not at all on the bias.
      for (let i = 0; i < kernel.length; i++) assert.ok(Math.abs(plainKernel[i] - kernel[i] - 0.1 * 2 * l2 * initial[i]) < 1e-6, `kernel ${i}`);
      assert.ok(
        initial.some((w) => Math.abs(0.1 * 2 * l2 * w) > 1e-2),
        'the penalty moves the kernel measurably',
      );
      assert.deepEqual(Array.from(bias), Array.from(plainBias));
    });
  }
});

describe('standardised features folded into the Dense layer', () => {
  test('the folded head on raw maps predicts what the trained head predicts on standardised maps (1e-5)', async () => {
    const labels = [0, 1, 1, 0];
    const store = memoryStore(X, 12, labels);
    const s = await channelStats(store, 3);
    const view = standardized(store, s);
    const rows = new Float32Array(X.length);
    await view.read([0, 1, 2, 3], rows);
    // The pooled standardised rows have mean 0 and deviation 1 in every channel.
    const pooled = await pooledRows(view, 3);
    for (let c = 0; c < 3; c++) {
      const v = [0, 1, 2, 3].map((i) => pooled[i * 3 + c]);
      const mean = v.reduce((a, b) => a + b) / 4;
      assert.ok(Math.abs(mean) < 1e-5 && Math.abs(v.reduce((a, b) => a + (b - mean) ** 2, 0) / 4 - 1) < 1e-4, `channel ${c}`);
    }
    const model = head();
    const want = (model.predict(tf.tensor(rows, [4, 2, 2, 3])) as tf.Tensor).dataSync();
    foldInto(model.getLayer('out'), s);
    const got = (model.predict(tf.tensor(X, [4, 2, 2, 3])) as tf.Tensor).dataSync();
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `output ${i}: ${got[i]} vs ${want[i]}`);
  });

  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));
  test('train with standardize: the saved model, run on the validation images, gives the loss training reported', async () => {
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 10 });
    const o = { base: 'mobilenet', alpha: 0.25, weights: null, inputSize: 32, epochs: 3, seed: 9 } as const;
    const r = await trainImageClassifier(data, { ...o, standardize: true });
    const plain = await trainImageClassifier(data, { ...o, standardize: false });
    const kernel = (m: tfl.LayersModel) => m.layers.at(-1)?.getWeights()[0].dataSync() as Float32Array;
    assert.notDeepEqual(Array.from(kernel(r.model)), Array.from(kernel(plain.model)), 'standardize changed training');
    const { validation } = await planData(data, o, () => {});
    const batch = await loadImageBatch(validation, { height: 32, width: 32, source: photoSource('tf') });
    const p = (r.model.predict(tf.tensor(batch.x, [validation.length, 32, 32, 3])) as tf.Tensor).dataSync();
    const loss =
      batch.items.reduce((sum, f, i) => {
        const q = Math.min(Math.max(p[i], 1e-7), 1 - 1e-7);
        return sum - (f.label === 1 ? Math.log(q) : Math.log(1 - q));
      }, 0) / batch.items.length;
    assert.ok(Math.abs(loss - (r.val.loss as number)) < 1e-4, `the saved model's validation loss ${loss} vs ${r.val.loss} while training`);
  });
});

describe('refit under epochs auto', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));
  test('the head trains again on training + validation rows for the kept epochs, from its initial weights', async () => {
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 10 });
    const o = { base: 'mobilenet', alpha: 0.25, weights: null, inputSize: 32, maxEpochs: 6, seed: 9 } as const;
    const notices: string[] = [];
    const r = await trainImageClassifier(data, { ...o, refit: true, onEvent: (e) => void (e.type === 'notice' && notices.push(e.message)) });
    const plain = await trainImageClassifier(data, o);
    const kept = plain.phases[0].bestEpoch as number;
    assert.equal(r.phases[0].bestEpoch, kept, 'the refit keeps the epoch auto chose');
    assert.ok(
      notices.some((m) => m.includes(`on the 20 training and validation images for ${kept} epochs`)),
      notices.join('\n'),
    );
    const dense = (m: tfl.LayersModel) =>
      m.layers
        .at(-1)
        ?.getWeights()
        .flatMap((w) => Array.from(w.dataSync())) as number[];
    assert.notDeepEqual(dense(r.model), dense(plain.model));
    assert.deepEqual(r.val, plain.val, 'the validation scores are those before the refit');
  });
  test('joinStores reads rows of both stores in the order asked', async () => {
    const a = memoryStore(Float32Array.of(1, 2, 3, 4), 2, [0, 1]);
    const b = memoryStore(Float32Array.of(5, 6), 2, [1]);
    const out = new Float32Array(6);
    await joinStores(a, b).read([2, 0, 1], out);
    assert.deepEqual(Array.from(out), [5, 6, 1, 2, 3, 4]);
    assert.deepEqual(joinStores(a, b).labels, [0, 1, 1]);
  });
});

describe('epochs auto on a convex head trains to convergence of its regularised training loss', () => {
  const phase = { from: 'gap', trainedFrom: 'gap', strategy: 'feature-extraction', epochs: 'auto', lr: 0.01, schedule: 'constant', onCache: true } as const;
  /** Epochs whose validation loss rises while the training loss keeps falling by 1%, then stays flat from `flatFrom`. */
  async function run(l2Objective: number | undefined, flatFrom: number): Promise<{ stoppedAt: number; notices: string[] }> {
    const kernel = [Float32Array.of(0.5, -0.5), Float32Array.of(0)];
    const trainer = { snapshot: () => kernel.map((w) => w.slice()), restore() {} };
    const notices: string[] = [];
    const info = { index: 0, strategy: phase.strategy, trainedFrom: 'gap', auto: true, epochs: 30, lr: 0.01 };
    const list = new CallbackList(phaseCallbacks({}, phase, l2Objective), trainer, info, (m) => notices.push(m));
    await list.begin();
    for (let epoch = 1; epoch <= 30; epoch++) {
      const loss = 0.5 * 0.99 ** Math.min(epoch, flatFrom);
      const log = { epoch, loss, accuracy: 0.8, valLoss: 0.3 + 0.01 * epoch, valAccuracy: 0.8 };
      if ((await list.epochEnd(epoch, log, 1)).stop) return { stoppedAt: epoch, notices };
    }
    return { stoppedAt: 30, notices };
  }
  test('the validation loss rising does not stop it; a flat objective does, after the patience', async () => {
    const convex = await run(0.1, 12);
    assert.equal(convex.stoppedAt, 12 + AUTO_PATIENCE, convex.notices.join('\n'));
    assert.ok(convex.notices.some((m) => m.includes('no lower regularised training loss')));
    // Without the penalty's objective, auto is Keras's early stopping on the validation loss.
    assert.equal((await run(undefined, 12)).stoppedAt, 1 + AUTO_PATIENCE);
  });

  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));
  test('train with the default head stops on the regularised training loss; --standardize off on the validation loss', async () => {
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 10 });
    const o = { base: 'mobilenet', alpha: 0.25, weights: null, inputSize: 32, seed: 9 } as const;
    const notices = async (standardize: boolean) => {
      const seen: string[] = [];
      await trainImageClassifier(data, { ...o, standardize, onEvent: (e) => void (e.type === 'notice' && seen.push(e.message)) });
      return seen.join('\n');
    };
    const convex = await notices(true);
    assert.match(convex, /epochs auto: stopped after epoch \d+: no lower regularised training loss/);
    assert.match(convex, /restored the weights of epoch \d+ \(regularised training loss/);
    assert.match(await notices(false), /no lower validation loss/);
  });
});
