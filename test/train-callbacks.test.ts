import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { type EpochEnd, type PhaseInfo, type TrainCallback, earlyStopping, restoreBestWeights, trainImageClassifier } from '../src/index.js';
import type { Trainer } from '../src/engine/training.js';
import { memoryStore } from '../src/train/features/store.js';
import { type PhaseRun, runEpochs } from '../src/train/fit/epoch-loop.js';
import { trainedModelMetadata } from '../src/train/fit/fit.js';
import type { EpochLog, TrainEvent, TrainOptions } from '../src/train/fit/options.js';
import { makeImageFolder, tempDir } from './helpers.js';

/**
 * A trainer whose one weight counts the steps taken, and whose validation loss for epoch k is `valLosses[k - 1]`:
 * what the callbacks decide is then plain to read off.
 */
function scriptedPhase(valLosses: number[], o: TrainOptions, epochs: number | 'auto' = 'auto') {
  let weight = 0;
  let evaluations = 0;
  const rates: number[] = [];
  const trainer: Trainer = {
    engine: 'ort',
    async step(_x, _y, n, lr) {
      rates.push(lr);
      weight++;
      return { loss: 0.5, output: new Float32Array(n).fill(0.6) };
    },
    async evaluate(_x, _y, n) {
      return { loss: valLosses[evaluations++], output: new Float32Array(n).fill(0.4) };
    },
    snapshot: () => [Float32Array.of(weight)],
    restore(values) {
      weight = values[0][0];
    },
    writeBack() {},
    async dispose() {},
  };
  const notices: string[] = [];
  const run: PhaseRun = {
    trainer,
    phase: { from: 'head', trainedFrom: 'head', strategy: 'feature-extraction', epochs, lr: 0.01, schedule: 'constant', onCache: true },
    index: 0,
    async *batches() {
      yield { x: new Float32Array(2), labels: [0, 1] };
    },
    count: 2,
    valData: memoryStore(new Float32Array(2), 1, [0, 1]),
    task: 'binary',
    classes: 2,
    batchSize: 2,
    o,
    emit: (e: TrainEvent) => e.type === 'notice' && notices.push(e.message),
    data: 'scripted',
  };
  return { run, notices, rates, weight: () => weight };
}

/** Ends the phase after `n` epochs. */
const stopAfter = (n: number): TrainCallback => ({ onEpochEnd: (ctx) => (ctx.epoch >= n ? { stop: true } : undefined) });

/** Records what every hook saw. */
function recorder() {
  const seen = { begins: [] as PhaseInfo[], logs: [] as Array<{ phase: number; log: EpochLog }>, ends: [] as Array<{ phase: number; lastEpoch: number }> };
  const callback: TrainCallback = {
    onPhaseBegin: (ctx) => void seen.begins.push(ctx.phase),
    onEpochEnd: (ctx: EpochEnd) => void seen.logs.push({ phase: ctx.phase.index, log: ctx.log }),
    onPhaseEnd: (ctx) => void seen.ends.push({ phase: ctx.phase.index, lastEpoch: ctx.lastEpoch }),
  };
  return { seen, callback };
}

describe('the epoch loop with callbacks', () => {
  test('the defaults under auto: the rate falls after 2 flat epochs, the phase stops after 5, the best epoch comes back', async () => {
    // Best at epoch 3, then flat: reduce-LR fires at epochs 5 and 7, early stopping at 8 (5 epochs since 3).
    const p = scriptedPhase([1, 0.9, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.1], { base: 'x' });
    const out = await runEpochs(p.run);
    assert.equal(out.history.length, 8);
    assert.deepEqual([out.stoppedAt, out.bestEpoch, out.stopped], [8, 3, undefined]);
    assert.deepEqual(p.notices, [
      'validation loss flat for 2 epoch(s): learning rate now 0.001',
      'validation loss flat for 2 epoch(s): learning rate now 0.0001',
      'epochs auto: stopped after epoch 8: no lower validation loss for 5 epoch(s)',
      'restored the weights of epoch 3 (validation loss 0.8000)',
    ]);
    assert.deepEqual(p.rates, [0.01, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.0001]);
    assert.equal(p.weight(), 3, 'the weights after epoch 3 (one step an epoch)');
  });

  test('a fixed number of epochs without stopping options runs them all and keeps the last weights', async () => {
    const p = scriptedPhase([1, 0.5, 2, 3], { base: 'x' }, 4);
    const out = await runEpochs(p.run);
    assert.deepEqual([out.history.length, out.stoppedAt, out.bestEpoch, p.weight()], [4, 4, null, 4]);
    assert.deepEqual(p.notices, []);
  });

  test('an interrupted phase keeps the last complete epoch (the checkpoint), not the best', async () => {
    const controller = new AbortController();
    // The best epoch is the first; the signal fires after the second, so epoch 3's first step is the last.
    const abortAfter2: TrainCallback = { onEpochEnd: (ctx) => void (ctx.epoch === 2 && controller.abort()) };
    const p = scriptedPhase([0.5, 1, 2, 3], { base: 'x', signal: controller.signal, restoreBest: true, callbacks: [abortAfter2] }, 4);
    const out = await runEpochs(p.run);
    assert.deepEqual(out.stopped, { reason: 'interrupted in epoch 3', phase: 0, keptEpoch: 2 });
    assert.deepEqual([out.history.length, out.stoppedAt, out.bestEpoch, p.weight()], [2, 2, null, 2]);
  });

  test("a user's callbacks: one stops after epoch 2, one records; another scales the rate; the defaults still run", async () => {
    const rec = recorder();
    const halve: TrainCallback = { onEpochEnd: (ctx) => ({ lrScale: ctx.lrScale / 2 }) };
    const p = scriptedPhase([1, 0.9, 0.8, 0.7], { base: 'x', callbacks: [stopAfter(2), rec.callback, halve] }, 10);
    const out = await runEpochs(p.run);
    assert.deepEqual([out.history.length, out.stoppedAt, out.stopped], [2, 2, undefined]);
    assert.deepEqual(
      rec.seen.logs.map((s) => s.log),
      out.history,
    );
    assert.deepEqual(rec.seen.begins, [{ index: 0, strategy: 'feature-extraction', trainedFrom: 'head', auto: false, epochs: 10, lr: 0.01 }]);
    assert.deepEqual(rec.seen.ends, [{ phase: 0, lastEpoch: 2 }]);
    assert.deepEqual(p.rates, [0.01, 0.005]);
  });

  test('the factories passed by hand behave as the options do', async () => {
    const byOptions = scriptedPhase([1, 0.5, 0.6, 0.7, 0.8], { base: 'x', earlyStoppingPatience: 2, restoreBest: true }, 5);
    const byHand = scriptedPhase([1, 0.5, 0.6, 0.7, 0.8], { base: 'x', callbacks: [earlyStopping({ patience: 2 }), restoreBestWeights()] }, 5);
    const [a, b] = [await runEpochs(byOptions.run), await runEpochs(byHand.run)];
    assert.deepEqual(a, b);
    assert.deepEqual(byOptions.notices, byHand.notices);
    assert.deepEqual([a.history.length, a.bestEpoch, byHand.weight()], [4, 2, 2]);
  });
});

describe('callbacks through trainImageClassifier', () => {
  test('every phase honours a stop after epoch 2; the recorder sees the history; the saved metadata leaves callbacks out', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 6, size: 16 });
    const rec = recorder();
    const o: TrainOptions = {
      base: 'mobilenet',
      alpha: 0.25,
      weights: null,
      inputSize: 32,
      epochs: 5,
      strategy: 'fine-tune',
      unfreezeFrom: 'conv_pw_13',
      validationSplit: 0.25,
      callbacks: [stopAfter(2), rec.callback],
    };
    const r = await trainImageClassifier(data, o);
    assert.deepEqual(
      r.phases.map((p) => p.stoppedAt),
      [2, 2],
    );
    assert.deepEqual(
      rec.seen.logs.map((s) => ({ ...s.log, phase: s.phase })),
      r.history.map(({ trainedFrom, ...h }) => h),
    );
    assert.deepEqual(
      rec.seen.begins.map((b) => [b.index, b.strategy, b.epochs]),
      [
        [0, 'feature-extraction', 5],
        [1, 'fine-tune', 5],
      ],
    );
    const meta = JSON.parse(JSON.stringify(trainedModelMetadata(r, o, data)));
    assert.equal('callbacks' in meta.training, false);
    assert.equal(meta.training.strategy, 'fine-tune');
  });
});
