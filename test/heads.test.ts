import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { tf, tfl } from '../src/tfjs.js';
import { NeighbourVote, UnitNormalization } from '../src/applications/layers.js';
import { initBackend } from '../src/engine/backend.js';
import { createPredictor } from '../src/engine/predictor.js';
import { atTemperature, brierScore, calibrationError, fitTemperature } from '../src/train/evaluate/calibration.js';
import { fitHead, parseEmbeddingHead } from '../src/heads/embedding.js';
import { fitLogistic, linearLogits, softmaxRows } from '../src/heads/linear-probe.js';
import { CIFAR_DIR, MOBILENET_H5, TINY_BASE, cli, makeImageFolder, needsShared, tempDir } from './helpers.js';

/** Seeded Gaussian-ish clusters: `classes` centres in `dim` dimensions, non-negative like ReLU features. */
function clusters(n: number, dim: number, classes: number, seed = 3) {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const centres = Array.from({ length: classes * dim }, () => rand() * 2);
  const x = new Float32Array(n * dim);
  const labels = Array.from({ length: n }, (_, i) => i % classes);
  labels.forEach((l, i) => {
    for (let d = 0; d < dim; d++) x[i * dim + d] = Math.max(0, centres[l * dim + d] + (rand() - 0.5) * 2.5);
  });
  return { x, dim, labels };
}

describe('embedding heads: the arithmetic', () => {
  test('the head spec', () => {
    assert.deepEqual(parseEmbeddingHead('knn'), { kind: 'knn', k: 10 });
    assert.deepEqual(parseEmbeddingHead('knn:3'), { kind: 'knn', k: 3 });
    assert.deepEqual(parseEmbeddingHead('prototype'), { kind: 'prototype' });
    assert.equal(parseEmbeddingHead('gap, dense:2:softmax'), null);
    assert.throws(() => parseEmbeddingHead('knn:0'), /knn:K with K a positive integer/);
  });

  test('the linear probe reaches the objective scikit-learn reaches (same C, lbfgs)', (t) => {
    const data = clusters(120, 6, 3);
    const m = fitLogistic(data, 3);
    const p = linearLogits(data, m);
    softmaxRows(p, 3);
    const objective = (probs: ArrayLike<number>, kernel: ArrayLike<number>) =>
      data.labels.reduce((s, l, i) => s - Math.log(probs[i * 3 + l]), 0) + 0.5 * Array.from(kernel).reduce((s, v) => s + v * v, 0);
    const ours = objective(p, m.kernel);
    const py = `
import json, sys, numpy as np
from sklearn.linear_model import LogisticRegression
d = json.load(sys.stdin)
X = np.array(d['x'], dtype=np.float64).reshape(-1, d['dim']); y = np.array(d['labels'])
m = LogisticRegression(C=1.0, max_iter=5000, tol=1e-10).fit(X, y)
P = m.predict_proba(X)
print(json.dumps(float(-np.log(P[np.arange(len(y)), y]).sum() + 0.5 * (m.coef_ ** 2).sum())))`;
    let theirs: number;
    try {
      theirs = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify({ ...data, x: Array.from(data.x) }), encoding: 'utf8' }));
    } catch {
      process.stderr.write('NOTICE: scikit-learn (/usr/bin/python3) is not available: the comparison with it is skipped\n');
      t.skip('no scikit-learn');
      return;
    }
    assert.ok(Math.abs(ours - theirs) / theirs < 1e-4, `objective ${ours} vs scikit-learn's ${theirs}`);
  });

  test('k-NN and prototype heads score as their saved layers do, in tfjs and in ONNX Runtime', async () => {
    await initBackend();
    const train = clusters(60, 8, 3, 5);
    const query = clusters(12, 8, 3, 9);
    for (const head of [{ kind: 'knn', k: 4 } as const, { kind: 'prototype' } as const]) {
      const fitted = fitHead(head, train, 3);
      const units = fitted.labels?.length ?? 3;
      const model = tfl.sequential({ name: 'sequential' });
      model.add(tfl.layers.inputLayer({ inputShape: [8] }));
      model.add(new UnitNormalization({ name: 'unit_normalization' }));
      const dense = tfl.layers.dense({ units, useBias: false, activation: head.kind === 'knn' ? 'linear' : 'softmax' });
      model.add(dense);
      dense.setWeights([tf.tensor(fitted.kernel, [8, units])]);
      if (fitted.labels) model.add(new NeighbourVote({ k: 4, labels: fitted.labels, classes: 3 }));
      const want = fitted.probabilities(query.x);
      for (const engine of ['wasm', 'ort'] as const) {
        const p = await createPredictor(model, { engine });
        const got = await p.predict(query.x, 12);
        await p.dispose();
        got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4, `${head.kind} on ${engine}: ${v} vs ${want[i]} at ${i}`));
      }
    }
  });

  test('ECE, Brier score and temperature scaling', () => {
    // Two rows at confidence 0.9 (one right), two at 0.6 (both right): ECE = ½·|0.5 − 0.9| + ½·|1 − 0.6| = 0.4.
    const rows = { probabilities: [0.9, 0.1, 0.1, 0.9, 0.6, 0.4, 0.4, 0.6], classes: 2, labels: [0, 0, 0, 1] };
    assert.ok(Math.abs(calibrationError(rows).ece - 0.4) < 1e-12);
    assert.ok(Math.abs(brierScore(rows) - (0.02 + 1.62 + 0.32 + 0.32) / 4) < 1e-12);
    // Over-confident scores (true logits × 3): the fitted temperature is about 3, and the argmax stays.
    let s = 11;
    const rand = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const n = 4000;
    const probabilities = new Float64Array(n * 4);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const logits = Array.from({ length: 4 }, () => rand() * 4);
      const z = logits.map((v) => Math.exp(v));
      const total = z.reduce((a, b) => a + b, 0);
      let u = rand() * total;
      labels.push(z.findIndex((v) => (u -= v) <= 0));
      const sharp = logits.map((v) => Math.exp(3 * v));
      const sum = sharp.reduce((a, b) => a + b, 0);
      sharp.forEach((v, c) => (probabilities[i * 4 + c] = v / sum));
    }
    const scored = { probabilities, classes: 4, labels };
    const t = fitTemperature(scored);
    assert.ok(t > 2.6 && t < 3.4, `temperature ${t}`);
    const after = atTemperature(scored, t);
    assert.ok(calibrationError({ ...scored, probabilities: after }).ece < calibrationError(scored).ece / 3);
    for (let i = 0; i < n; i++) {
      const top = (p: ArrayLike<number>) => [0, 1, 2, 3].reduce((b, c) => (p[i * 4 + c] > p[i * 4 + b] ? c : b), 0);
      assert.equal(top(after), top(probabilities));
    }
  });
});

/** Class folders of symlinks to CIFAR-10 test images `from`–`to` of each class. */
function cifar(dir: string, classes: string[], from: number, to: number): string {
  for (const c of classes) {
    mkdirSync(path.join(dir, c), { recursive: true });
    for (let i = from; i < to; i++) {
      const name = `${String(i).padStart(4, '0')}.jpg`;
      symlinkSync(path.join(CIFAR_DIR, c, name), path.join(dir, c, name));
    }
  }
  return dir;
}

describe('train --head knn|prototype|logistic, add-class', { skip: needsShared(MOBILENET_H5) || needsShared(CIFAR_DIR) }, () => {
  test('train, evaluate, predict, export and add a class on real CIFAR-10 features', () => {
    const dir = tempDir();
    const data = cifar(path.join(dir, 'pair'), ['airplane', 'frog'], 0, 60);
    const base = ['--base', 'mobilenet', '--alpha', '0.25', '--weights', MOBILENET_H5, '--input-size', '96'];
    const runs: Record<string, { val: { accuracy: number; loss: number } }> = {};
    for (const head of ['knn:5', 'prototype', 'logistic']) {
      const out = path.join(dir, head.replace(':', ''));
      const r = cli(['train', data, ...base, '--head', head, '--out', out, '--json']);
      assert.equal(r.code, 0, r.stderr);
      runs[head] = JSON.parse(r.stdout);
      assert.equal(JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8')).head, head);
      assert.ok(runs[head].val.accuracy >= 0.85, `${head}: validation accuracy ${runs[head].val.accuracy}`);
      // The saved layers score the validation split as the fitted head did.
      const e = cli(['evaluate', out, data, '--subset', 'validation', '--json']);
      assert.equal(e.code, 0, e.stderr);
      const ev = JSON.parse(e.stdout);
      assert.equal(ev.accuracy, runs[head].val.accuracy);
      assert.ok(Math.abs(ev.loss - runs[head].val.loss) < 1e-3, `${head}: loss ${ev.loss} vs ${runs[head].val.loss}`);
    }
    // Temperature scaling of the probe on the validation split: folded into the saved model, accuracy kept.
    const probe = path.join(dir, 'logistic');
    const chart = path.join(dir, 'reliability.svg');
    const c = cli(['calibrate', probe, data, '--reliability', chart, '--out', path.join(dir, 'calibrated'), '--json']);
    assert.equal(c.code, 0, c.stderr);
    const cal = JSON.parse(c.stdout);
    assert.ok(cal.after.nll <= cal.before.nll + 1e-9 && cal.temperature !== 1, JSON.stringify(cal));
    assert.equal(cal.after.accuracy, cal.before.accuracy);
    assert.match(readFileSync(chart, 'utf8'), /ECE/);
    const after = JSON.parse(cli(['evaluate', path.join(dir, 'calibrated'), data, '--subset', 'validation', '--json']).stdout);
    assert.ok(Math.abs(after.loss - cal.after.nll) < 1e-3, `evaluate's loss ${after.loss} vs calibrate's ${cal.after.nll}`);
    assert.ok(Math.abs(after.ece - cal.after.ece) < 1e-3 && after.brier > 0);
    assert.ok(Math.abs(JSON.parse(readFileSync(path.join(dir, 'calibrated', 'transferkit.json'), 'utf8')).temperature - cal.temperature) < 1e-9);
    const knn = path.join(dir, 'knn5');
    assert.match(cli(['calibrate', knn, data]).stderr, /a k-NN vote has no logits/);
    const keras = cli(['export', knn, '--format', 'keras', '--out', path.join(dir, 'knn.keras')]);
    assert.equal(keras.code, 1);
    assert.match(keras.stderr, /neighbour_vote \(NeighbourVote\)/);
    const onnx = cli(['export', knn, '--format', 'onnx', '--out', path.join(dir, 'knn.onnx')]);
    assert.equal(onnx.code, 0, onnx.stderr);
    assert.ok(existsSync(path.join(dir, 'knn.onnx')));

    // add-class: a third class from a folder; held-out images of it are mostly called by its name.
    const birds = cifar(path.join(dir, 'new'), ['bird'], 0, 60);
    const heldOut = cifar(path.join(dir, 'held'), ['bird'], 900, 920);
    for (const run of [knn, path.join(dir, 'prototype')]) {
      const a = cli(['add-class', run, path.join(birds, 'bird'), '--json']);
      assert.equal(a.code, 0, a.stderr);
      assert.deepEqual(JSON.parse(a.stdout).classNames, ['airplane', 'frog', 'bird']);
      const p = cli(['predict', run, path.join(heldOut, 'bird'), '--json']);
      assert.equal(p.code, 0, p.stderr);
      const labels = (JSON.parse(p.stdout) as Array<{ label: string }>).map((x) => x.label);
      assert.ok(labels.filter((l) => l === 'bird').length >= 10, `${run}: ${labels.join(' ')}`);
    }
    const again = cli(['add-class', knn, path.join(birds, 'bird')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already has a class 'bird'/);
    const linear = cli(['add-class', probe, path.join(birds, 'bird')]);
    assert.match(linear.stderr, /needs a model with a knn or prototype head/);
  });
});

describe('compare --heads', () => {
  test('puts the computed heads beside the trained strategies, on the same split', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 8 });
    const r = cli(['compare', data, ...TINY_BASE, '--unfreeze-from', 'conv_dw_13', '--epochs', '1', '--heads', 'knn:3,prototype', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Array<{ strategy: string; head?: string; secondsPerEpoch: number | null; finalValAccuracy: number }>;
    assert.deepEqual(
      rows.map((x) => x.head ?? x.strategy),
      ['full', 'feature-extraction', 'fine-tune', 'knn:3', 'prototype'],
    );
    assert.equal(rows[3].secondsPerEpoch, null);
    assert.ok(rows[3].finalValAccuracy >= 0 && rows[4].finalValAccuracy <= 1);
    const bad = cli(['compare', data, ...TINY_BASE, '--unfreeze-from', 'conv_dw_13', '--heads', 'knn,forest']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /'forest' is not knn\[:K\]/);
  });
});

describe('train --calibrate', () => {
  test('fits the temperature on the validation split after training and saves it with the model', async () => {
    const dir = tempDir();
    const data = await makeImageFolder(path.join(dir, 'data'), { classes: ['ant', 'bee', 'cat'], perClass: 10 });
    const out = path.join(dir, 'run');
    const r = cli(['train', data, ...TINY_BASE, '--epochs', '3', '--calibrate', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    const saved = JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8'));
    assert.ok(got.calibration.temperature > 0 && Math.abs(saved.temperature - got.calibration.temperature) < 1e-9);
    assert.equal(saved.calibration.subset, 'validation');
    assert.equal(saved.calibration.images, 6);
    assert.match(cli(['train', data, ...TINY_BASE, '--calibrate']).stderr, /--calibrate .* give --out DIR/);
    assert.match(cli(['train', data, ...TINY_BASE, '--head', 'knn', '--calibrate', '--out', out]).stderr, /not knn/);
  });
});
