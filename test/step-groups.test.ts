import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StepBatch, StepResult, Trainer } from '../src/engine/training.js';
import { memoryStore } from '../src/train/features/store.js';
import { type PhaseRun, runEpochs } from '../src/train/fit/epoch-loop.js';
import type { TrainEvent, TrainOptions } from '../src/train/fit/options.js';
import { refitEpochs } from '../src/train/fit/refit.js';
import { learningRateAt } from '../src/train/fit/schedule.js';
import { seededRandom } from '../src/util/random.js';

// The epoch loop and refit with a fake trainer that records its calls: groups of its stepsPerRun, each batch's rate,
// class weights and targets, events, the loss check and the abort, against the same run one step at a time.

/** 13 examples in batches of 2: 7 batches an epoch, the last of one example; batch k's inputs are all k. */
const COUNT = 13;
const BATCH = 2;
const labelOf = (i: number) => (i * 7) % 3;

async function* numberedBatches() {
  for (let k = 0; k * BATCH < COUNT; k++) {
    const n = Math.min(BATCH, COUNT - k * BATCH);
    yield { x: new Float32Array(n * 2).fill(k), labels: Array.from({ length: n }, (_, j) => labelOf(k * BATCH + j)) };
  }
}

/** What the fake trainer was handed for one step: the batch (by its inputs), its rate and its loss weights. */
const seen = (b: StepBatch) => ({
  batch: b.x[0],
  rows: Array.from({ length: b.n }, (_, j) => b.x[j * 2]),
  n: b.n,
  y: Array.from(b.y),
  lr: b.lr,
  weights: b.weights ? Array.from(b.weights) : undefined,
});

/**
 * A trainer that records, in one log with the loop's events, each call (`step` of a batch, `steps` of a group)
 * and what it was handed; its loss at the k-th step taken is `loss(k)`. `stepsPerRun` undefined: no `steps`.
 */
function fakeTrainer(stepsPerRun: number | undefined, log: unknown[], o: { loss?: (k: number) => number; onSteps?: () => void } = {}) {
  let taken = 0;
  const result = (n: number): StepResult => ({ loss: o.loss?.(taken++) ?? 0.5, output: new Float32Array(n * 3).fill(1 / 3) });
  const trainer: Trainer = {
    engine: 'ort',
    async step(x, y, n, lr, weights) {
      log.push({ call: 'step', ...seen({ x, y, n, lr, weights }) });
      return result(n);
    },
    ...(stepsPerRun === undefined
      ? {}
      : {
          stepsPerRun,
          async steps(batches: StepBatch[]) {
            log.push({ call: 'steps', batches: batches.map(seen) });
            o.onSteps?.();
            return batches.map((b) => result(b.n));
          },
        }),
    async evaluate(_x, _y, n) {
      return { loss: 0.4, output: new Float32Array(n * 3).fill(1 / 3) };
    },
    snapshot: () => [new Float32Array(1)],
    restore() {},
    writeBack() {},
    async dispose() {},
  };
  return trainer;
}

/** Two epochs of `trainer` over the numbered batches: cosine after 3 warm-up steps, class weights 1, 3, 0.5. */
async function twoEpochs(trainer: Trainer, log: unknown[], o: TrainOptions = { base: 'x' }) {
  const run: PhaseRun = {
    trainer,
    phase: { from: 'head', trainedFrom: 'head', strategy: 'feature-extraction', epochs: 2, lr: 0.1, schedule: 'cosine', onCache: true },
    index: 0,
    batches: numberedBatches,
    count: COUNT,
    valData: null,
    task: 'categorical',
    classes: 3,
    batchSize: BATCH,
    classWeights: [1, 3, 0.5],
    o: { warmupSteps: 3, ...o },
    emit: (e: TrainEvent) =>
      e.type !== 'notice' && log.push(e.type === 'batch' ? { event: 'batch', epoch: e.epoch, batch: e.batch, loss: e.loss } : { event: e.type }),
    data: 'numbered',
  };
  return runEpochs(run);
}

/** The steps a log's calls took, one entry a batch, in order. */
const stepsIn = (log: unknown[]) =>
  log.flatMap((e) => {
    const c = e as { call?: string; batches?: unknown[] };
    return c.call === 'step' ? [(({ call, ...b }) => b)(c as { call: string })] : c.call === 'steps' ? (c.batches as unknown[]) : [];
  });
const calls = (log: unknown[]) =>
  log.flatMap((e) => {
    const c = e as { call?: string; batches?: unknown[] };
    return c.call === 'step' ? ['step'] : c.call === 'steps' ? [`steps ${(c.batches as unknown[]).length}`] : [];
  });

describe('the epoch loop hands the trainer groups of stepsPerRun batches', () => {
  test('stepsPerRun 3 over 7 batches: groups 3, 3, 1 each epoch; each batch at its own step rate with its class weights', async () => {
    const log: unknown[] = [];
    await twoEpochs(fakeTrainer(3, log), log);
    // A group of one goes to `step` (takeSteps).
    assert.deepEqual(calls(log), ['steps 3', 'steps 3', 'step', 'steps 3', 'steps 3', 'step']);
    const steps = stepsIn(log) as Array<ReturnType<typeof seen>>;
    const schedule = { name: 'cosine' as const, lr: 0.1, totalSteps: 14, warmupSteps: 3 };
    assert.deepEqual(
      steps.map((s) => s.lr),
      Array.from({ length: 14 }, (_, k) => learningRateAt(schedule, k)),
    );
    assert.deepEqual(
      steps.map((s) => s.batch),
      [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6],
    );
    const weightOf = [1, 3, 0.5];
    for (const s of steps) {
      const labels = Array.from({ length: s.n }, (_, j) => labelOf(s.batch * BATCH + j));
      assert.deepEqual(
        s.weights,
        labels.map((l) => weightOf[l]),
        `batch ${s.batch}`,
      );
      assert.deepEqual(
        s.y,
        labels.flatMap((l) => [0, 1, 2].map((c) => (c === l ? 1 : 0))),
      );
    }
  });

  test("after each group, its batches' events in order; the same events, steps and history as one step at a time", async () => {
    const [grouped, single] = [[] as unknown[], [] as unknown[]];
    const a = await twoEpochs(fakeTrainer(3, grouped, { loss: (k) => 1 / (k + 1) }), grouped);
    const b = await twoEpochs(fakeTrainer(undefined, single, { loss: (k) => 1 / (k + 1) }), single);
    const kinds = (log: unknown[]) =>
      log.slice(0, 10).map((e) => {
        const r = e as { call?: string; batches?: unknown[]; event?: string; batch?: number };
        return r.call ? calls([e])[0] : `${r.event} ${r.batch}`;
      });
    assert.deepEqual(kinds(grouped), ['steps 3', 'batch 1', 'batch 2', 'batch 3', 'steps 3', 'batch 4', 'batch 5', 'batch 6', 'step', 'batch 7']);
    assert.deepEqual(kinds(single).slice(0, 6), ['step', 'batch 1', 'step', 'batch 2', 'step', 'batch 3']);
    const events = (log: unknown[]) => log.filter((e) => (e as { event?: string }).event);
    assert.deepEqual(events(grouped), events(single));
    assert.deepEqual(stepsIn(grouped), stepsIn(single));
    assert.deepEqual(a, b);
  });

  test('stepsPerRun 1: one `step` per batch, its event after it, as a trainer without groups (steps is never called)', async () => {
    const [one, none] = [[] as unknown[], [] as unknown[]];
    await twoEpochs(fakeTrainer(1, one), one);
    await twoEpochs(fakeTrainer(undefined, none), none);
    assert.deepEqual(one, none);
    assert.deepEqual(calls(one), Array(14).fill('step'));
    assert.deepEqual(
      one.slice(0, 4).map((e) => Object.keys(e as object)[0]),
      ['call', 'event', 'call', 'event'],
    );
  });

  test('a loss that is not a number in the middle of a group stops the phase with the same message; the batches before it count', async () => {
    const nanAt = (k: number) => (k === 4 ? Number.NaN : 0.5);
    const [grouped, single] = [[] as unknown[], [] as unknown[]];
    const a = await twoEpochs(fakeTrainer(3, grouped, { loss: nanAt }), grouped);
    const b = await twoEpochs(fakeTrainer(undefined, single, { loss: nanAt }), single);
    const reason = 'the loss became NaN in epoch 1: lower the learning rate (--learning-rate)';
    assert.equal(a.stopped?.reason, reason);
    assert.deepEqual(a, b);
    const batchEvents = (log: unknown[]) => log.filter((e) => (e as { event?: string }).event === 'batch').map((e) => (e as { batch: number }).batch);
    assert.deepEqual(batchEvents(grouped), [1, 2, 3, 4]);
    assert.deepEqual(batchEvents(single), [1, 2, 3, 4]);
    // The whole group ran (one engine call); one step at a time stops at the step that failed.
    assert.deepEqual([stepsIn(grouped).length, stepsIn(single).length], [6, 5]);
  });

  test('an abort during a group ends the phase after that group: no step after it, none of its batches counted', async () => {
    const controller = new AbortController();
    const log: unknown[] = [];
    let groups = 0;
    const trainer = fakeTrainer(3, log, { onSteps: () => ++groups === 2 && controller.abort() });
    const out = await twoEpochs(trainer, log, { base: 'x', signal: controller.signal });
    assert.equal(out.stopped?.reason, 'interrupted in epoch 1');
    assert.deepEqual(calls(log), ['steps 3', 'steps 3']);
    assert.deepEqual(
      log.filter((e) => (e as { event?: string }).event).map((e) => (e as { batch: number }).batch),
      [1, 2, 3],
    );
  });

  test("an abort between groups (from a batch's event) is seen after the next group, as after the next step one at a time", async () => {
    for (const [stepsPerRun, expected] of [
      [3, ['steps 3', 'steps 3']],
      [undefined, ['step', 'step', 'step', 'step']],
    ] as const) {
      const controller = new AbortController();
      const log: unknown[] = [];
      const push = log.push.bind(log);
      // The loop's 'batch' event for batch 3 (the end of the first group) aborts, as a user's onEvent might.
      log.push = (...items: unknown[]) => {
        if (items.some((e) => (e as { event?: string }).event === 'batch' && (e as { batch: number }).batch === 3)) controller.abort();
        return push(...items);
      };
      const out = await twoEpochs(fakeTrainer(stepsPerRun, log), log, { base: 'x', signal: controller.signal });
      assert.equal(out.stopped?.reason, 'interrupted in epoch 1');
      assert.deepEqual(calls(log), expected, `stepsPerRun ${stepsPerRun}`);
    }
  });
});

describe('refit steps in the same groups', () => {
  test("stepsPerRun 3: groups 3, 3, 1 per epoch at each epoch's rate, with class weights; 1: one step per batch", async () => {
    const rows = memoryStore(
      Float32Array.from({ length: COUNT * 2 }, (_, i) => Math.floor(i / 2)),
      2,
      Array.from({ length: COUNT }, (_, i) => labelOf(i)),
    );
    const epochs = [0.1, 0.05].map((lr, i) => ({ epoch: i + 1, loss: 1, accuracy: null, valLoss: null, valAccuracy: null, lr }));
    const plan = { epochs, rows, task: 'categorical' as const, classes: 3, batch: BATCH, classWeights: [1, 3, 0.5] };
    const [grouped, single] = [[] as unknown[], [] as unknown[]];
    await refitEpochs(fakeTrainer(3, grouped), { ...plan, random: seededRandom(4) });
    await refitEpochs(fakeTrainer(1, single), { ...plan, random: seededRandom(4) });
    assert.deepEqual(calls(grouped), ['steps 3', 'steps 3', 'step', 'steps 3', 'steps 3', 'step']);
    assert.deepEqual(calls(single), Array(14).fill('step'));
    assert.deepEqual(stepsIn(grouped), stepsIn(single));
    const steps = stepsIn(grouped) as Array<ReturnType<typeof seen>>;
    assert.deepEqual([...new Set(steps.slice(0, 7).map((s) => s.lr))], [0.1]);
    assert.deepEqual([...new Set(steps.slice(7).map((s) => s.lr))], [0.05]);
    // Row k holds k: each example's weight is its own label's.
    for (const s of steps)
      assert.deepEqual(
        s.weights,
        s.rows.map((r) => [1, 3, 0.5][labelOf(r)]),
      );
    assert.equal(new Set(steps.flatMap((s) => s.rows)).size, COUNT);
  });
});
