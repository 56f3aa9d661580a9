import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { trainOptionsFrom } from '../src/cli/train-options.js';
import { TfjsTrainer } from '../src/engine/tfjs-trainer.js';
import type { StepResult, Trainer } from '../src/engine/training.js';
import { trainImageClassifier } from '../src/index.js';
import { cachedBatches } from '../src/train/features/batches.js';
import { memoryStore } from '../src/train/features/store.js';
import { runEpochs } from '../src/train/fit/epoch-loop.js';
import type { TrainOptions } from '../src/train/fit/options.js';
import { runTrainerOptions } from '../src/train/fit/phase.js';
import { seededRandom } from '../src/util/random.js';
import { MOBILENET_H5, TINY_BASE, cli, makeImageFolder, needsShared, tempDir } from './helpers.js';

// stepsPerExecution from the library's options and the CLI flag to the trainer, and a real (tfjs) trainer's run
// grouped and not (the loop's grouping itself: step-groups.test.ts).

/** 13 rows of 4 in batches of 2: 7 batches an epoch, the last of one row. */
const COUNT = 13;
const BATCH = 2;
const labelOf = (i: number) => (i * 7) % 3;

describe('stepsPerExecution reaches the trainer', () => {
  test("from the library's options into TrainerOptions; unset, the engine chooses (no key)", () => {
    assert.equal(runTrainerOptions({ base: 'x', stepsPerExecution: 4 }, 'binary_crossentropy', false).stepsPerExecution, 4);
    assert.equal('stepsPerExecution' in runTrainerOptions({ base: 'x' }, 'binary_crossentropy', false), false);
  });

  test('from --steps-per-execution N into the training options; a bad value is a one-line error naming the flag', () => {
    assert.equal(trainOptionsFrom({ base: 'mobilenet', 'steps-per-execution': 4 }).stepsPerExecution, 4);
    assert.equal(trainOptionsFrom({ base: 'mobilenet' }).stepsPerExecution, undefined);
    for (const bad of ['0', '2.5', 'many']) {
      const r = cli(['train', 'photos', '--base', 'mobilenet', '--steps-per-execution', bad]);
      assert.equal(r.code, 2);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`--steps-per-execution must be a positive integer; got '${bad}'`));
    }
  });

  test('the library rejects a value that is not a positive integer before reading any data', async () => {
    await assert.rejects(
      trainImageClassifier('/nonexistent', { base: 'mobilenet', stepsPerExecution: 0 }),
      /steps per execution must be a positive integer; got 0/,
    );
  });
});

/** A dense head with dropout on 4 inputs, 3 classes, seeded: the same initial weights every call. */
function smallModel(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [4], units: 5, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
      tfl.layers.dropout({ rate: 0.3 }),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
}

/** The tfjs trainer `through` groups of 3 by a wrapper whose `steps` takes its steps in turn (as `steps` must). */
function inGroupsOf3(inner: Trainer, groups: number[]): Trainer {
  return {
    engine: inner.engine,
    stepsPerRun: 3,
    step: (x, y, n, lr, w) => inner.step(x, y, n, lr, w),
    async steps(batches) {
      groups.push(batches.length);
      const out: StepResult[] = [];
      for (const b of batches) out.push(await inner.step(b.x, b.y, b.n, b.lr, b.weights));
      return out;
    },
    evaluate: (x, y, n) => inner.evaluate(x, y, n),
    snapshot: () => inner.snapshot(),
    restore: (v) => inner.restore(v),
    writeBack: () => inner.writeBack(),
    dispose: () => inner.dispose(),
  };
}

describe('real runs', () => {
  test('grouped by 3 or one step at a time: the same history and weights (schedule, class weights, dropout masks)', async () => {
    const rows = Float32Array.from({ length: COUNT * 4 }, (_, i) => Math.sin(i * 1.3) * 2);
    const labels = Array.from({ length: COUNT }, (_, i) => labelOf(i));
    const train = async (group: boolean) => {
      const model = smallModel();
      const groups: number[] = [];
      const tfjs = await TfjsTrainer.create(model, { loss: 'categorical_crossentropy', optimizer: { name: 'adam' }, seed: 9, weighted: true }, 'cpu');
      const trainer = group ? inGroupsOf3(tfjs, groups) : tfjs;
      const random = seededRandom(5);
      const outcome = await runEpochs({
        trainer,
        phase: { from: 'dense', trainedFrom: 'dense', strategy: 'feature-extraction', epochs: 3, lr: 0.05, schedule: 'one-cycle', onCache: true },
        index: 0,
        batches: () => cachedBatches(memoryStore(rows, 4, labels), BATCH, random),
        count: COUNT,
        valData: memoryStore(rows.slice(0, 16), 4, labels.slice(0, 4)),
        task: 'categorical',
        classes: 3,
        batchSize: BATCH,
        classWeights: [1, 2, 0.5],
        o: { base: 'x' },
        emit: () => {},
        data: 'rows',
      });
      const weights = trainer.snapshot().map((w) => Array.from(w));
      await trainer.dispose();
      return { outcome, weights, groups };
    };
    const [one, grouped] = [await train(false), await train(true)];
    assert.deepEqual(grouped.groups, [3, 3, 3, 3, 3, 3]);
    assert.deepEqual(grouped.outcome, one.outcome);
    assert.deepEqual(grouped.weights, one.weights);
    assert.equal(one.outcome.history.length, 3);
  });

  test('trainImageClassifier on tfjs-wasm with stepsPerExecution 3 trains as without it; the CLI flag is saved with the model', async () => {
    const dir = tempDir();
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 6, size: 16 });
    const o: TrainOptions = { base: 'mobilenet', alpha: 0.25, weights: null, inputSize: 32, epochs: 2, engine: 'wasm', batchSize: 4 };
    const [plain, withOption] = [await trainImageClassifier(data, o), await trainImageClassifier(data, { ...o, stepsPerExecution: 3 })];
    assert.deepEqual(withOption.history, plain.history);
    const out = path.join(dir, 'model');
    const r = cli(['train', data, ...TINY_BASE, '--epochs', '1', '--engine', 'wasm', '--steps-per-execution', '3', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8')).training.stepsPerExecution, 3);
  });

  test("a fine-tune on ONNX Runtime: one step a run, 3, or the engine's choice give the same history, bit for bit", {
    skip: needsShared(MOBILENET_H5),
  }, async () => {
    // Real weights: a random base is drawn afresh by each run. Trainers that take groups (`steps`) must match `step`.
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 20, size: 48 });
    const o: TrainOptions = {
      base: 'mobilenet',
      alpha: 0.25,
      weights: MOBILENET_H5,
      inputSize: 96,
      engine: 'ort',
      batchSize: 8,
      seed: 3,
      strategy: 'fine-tune',
      unfreezeFrom: 'conv_dw_12',
      epochs: 2,
      fineTuneEpochs: 2,
    };
    const one = await trainImageClassifier(data, { ...o, stepsPerExecution: 1 });
    for (const k of [3, undefined])
      assert.deepEqual((await trainImageClassifier(data, { ...o, stepsPerExecution: k })).history, one.history, `stepsPerExecution ${k}`);
    assert.equal(one.history.length, 4);
  });
});
