import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { addHead, applications, evaluateFiles, initBackend, trainImageClassifier } from '../src/index.js';
import { modelBlocks } from '../src/applications/blocks.js';
import { DEFAULT_HEAD_DROPOUT, DEFAULT_STANDARDIZE, defaultL2 } from '../src/train/model/head.js';
import { HEAD_RATES, type PhaseLayers, blockRateScale, defaultHeadRate, planPhases } from '../src/train/fit/phase-plan.js';
import { linkSplit, measure } from '../bench/probe.js';
import { listImageFolder } from '../src/data/folders.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { TfjsTrainer } from '../src/engine/tfjs-trainer.js';
import type { Trainer } from '../src/engine/training.js';
import { averagePrecision, balancedClassWeights, classificationReport, rocAuc, youdenThreshold } from '../src/train/evaluate/metrics.js';
import { type TrainOptions, trainedModelMetadata } from '../src/train/fit/fit.js';
import { learningRateAt } from '../src/train/fit/schedule.js';
import { suggest } from '../src/train/fit/lr-find.js';
import { MOBILENET_H5, cli, makeImageFolder, needsShared, tempDir, TINY_BASE } from './helpers.js';

/** A seeded uniform generator and a normal one drawn from it. */
function generators(start: number): { rand: () => number; gauss: () => number } {
  let seed = start;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  return { rand, gauss: () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand()) };
}
const { rand, gauss } = generators(11);

describe('metrics', () => {
  test('ROC AUC equals its definition (pairs ranked right, ties half) within 1e-6, with ties and imbalance', () => {
    for (const [n, ratio] of [
      [200, 0.5],
      [300, 0.1],
      [57, 0.8],
    ] as const) {
      const positive = Array.from({ length: n }, () => rand() < ratio);
      // Rounded scores: many ties; positives score higher on average.
      const scores = positive.map((p) => Math.round((rand() + (p ? 0.3 : 0)) * 20) / 20);
      let pairs = 0;
      let right = 0;
      scores.forEach((sp, i) => {
        if (!positive[i]) return;
        scores.forEach((sn, j) => {
          if (positive[j]) return;
          pairs++;
          right += sp > sn ? 1 : sp === sn ? 0.5 : 0;
        });
      });
      assert.ok(Math.abs(rocAuc(scores, positive) - right / pairs) < 1e-6, `n=${n}: ${rocAuc(scores, positive)} vs ${right / pairs}`);
    }
  });

  test("average precision, balanced accuracy, macro averages and Youden's threshold on a worked example", () => {
    // scikit-learn's docs example: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333…, roc_auc 0.75.
    const scores = [0.1, 0.4, 0.35, 0.8];
    const positive = [false, false, true, true];
    assert.ok(Math.abs(averagePrecision(scores, positive) - 0.8333333333) < 1e-9);
    assert.equal(rocAuc(scores, positive), 0.75);
    assert.equal(youdenThreshold(scores, positive), 0.8);
    const r = classificationReport(scores, [0, 0, 1, 1], ['neg', 'pos'], 0.35);
    assert.deepEqual(r.confusionMatrix, [
      [1, 1],
      [0, 2],
    ]);
    assert.equal(r.balancedAccuracy, (0.5 + 1) / 2);
    assert.ok(Math.abs(r.macro.precision - (1 + 2 / 3) / 2) < 1e-12);
    assert.deepEqual(r.binary && [r.binary.sensitivity, r.binary.specificity], [1, 0.5]);
    // Three classes, one row per example: argmax decides.
    const three = classificationReport([0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4, 0.5, 0.4, 0.1], [0, 1, 2, 2], ['a', 'b', 'c']);
    assert.equal(three.accuracy, 0.75);
    assert.equal(three.balancedAccuracy, (1 + 1 + 0.5) / 3);
    assert.deepEqual(balancedClassWeights([0, 0, 0, 1], 2), [4 / 6, 4 / 2]);
  });
});

describe('schedules and the range test', () => {
  test('one-cycle warms up from lr/25 to lr over a quarter, then anneals to near zero; cosine and constant with warm-up', () => {
    const s = { name: 'one-cycle' as const, lr: 0.01, totalSteps: 100 };
    assert.ok(Math.abs(learningRateAt(s, 0) - 0.01 / 25) < 1e-12);
    assert.ok(Math.abs(learningRateAt(s, 25) - 0.01) < 1e-12);
    assert.ok(learningRateAt(s, 99) < 1e-5);
    for (let i = 1; i < 25; i++) assert.ok(learningRateAt(s, i) > learningRateAt(s, i - 1));
    for (let i = 26; i < 100; i++) assert.ok(learningRateAt(s, i) < learningRateAt(s, i - 1));
    const cosine = { name: 'cosine' as const, lr: 1, totalSteps: 110, warmupSteps: 10 };
    assert.ok(learningRateAt(cosine, 0) < 0.1 && Math.abs(learningRateAt(cosine, 10) - 1) < 1e-12 && Math.abs(learningRateAt(cosine, 60) - 0.5) < 1e-12);
    assert.equal(learningRateAt({ name: 'constant', lr: 0.5, totalSteps: 10 }, 7), 0.5);
  });

  test('the suggestion is a tenth of the rate of the lowest loss, and the steepest fall lies before it', () => {
    // A loss that falls from 1 to 0.2 between 1e-4 and 1e-1, then blows up.
    const points = Array.from({ length: 200 }, (_, i) => {
      const lr = 1e-7 * 1e8 ** (i / 199);
      const t = Math.log10(lr);
      return { lr, loss: t < -4 ? 1 : t < -1 ? 1 - (0.8 * (t + 4)) / 3 : 0.2 + 3 * (t + 1) ** 2 };
    });
    const s = suggest(points);
    assert.ok(Math.abs(Math.log10(s.minimum) + 1) < 0.05, `minimum ${s.minimum}`);
    assert.ok(Math.abs(s.suggested - s.minimum / 10) < 1e-12);
    assert.ok(s.steepest > 1e-4 && s.steepest <= s.minimum, `steepest ${s.steepest}`);
  });
});

describe('default rates', () => {
  const layers = { firstHead: 'head', firstBase: 'input', newFirstConv: null };
  const rates = (o: Partial<TrainOptions>, l: PhaseLayers = layers, train = 640) =>
    planPhases({ base: 'mobilenet', unfreezeFrom: 'cut', ...o }, l, { train, validation: 160 }).map((p) => p.lr);
  test('a head trains at 0.25 / steps per epoch within [1e-3, 1e-2], base layers at 1e-3, fine-tune and --from at 1e-4; a given rate as before', () => {
    assert.deepEqual(rates({}), [1e-2]);
    assert.deepEqual(
      [rates({}, layers, 3200), rates({ batchSize: 64 }, layers, 3200), rates({}, layers, 8000), rates({}, layers, 1e5)],
      [[0.0025], [0.005], [1e-3], [1e-3]],
    );
    assert.equal(defaultHeadRate(195, 32), HEAD_RATES.max);
    assert.deepEqual(rates({ strategy: 'fine-tune' }), [1e-2, 1e-4]);
    assert.deepEqual(rates({ strategy: 'full' }), [1e-3]);
    assert.deepEqual(rates({ augment: { flip: 'horizontal' } }), [1e-2]);
    // New band slices of the first convolution train in the head's phase: base layers.
    assert.deepEqual(rates({}, { ...layers, newFirstConv: 'conv1' }), [1e-3]);
    assert.deepEqual(rates({ from: {} as TrainOptions['from'] }), [1e-4]);
    assert.deepEqual(rates({ strategy: 'fine-tune', learningRate: 0.003 }), [0.003, 0.003 / 10]);
    assert.deepEqual(rates({ strategy: 'full', learningRate: 0.003 }), [0.003]);
    assert.deepEqual(rates({ from: {} as TrainOptions['from'], learningRate: 0.003 }), [0.003]);
    assert.deepEqual(rates({ strategy: 'fine-tune', learningRate: 'auto' }), [null, null]);
  });

  // The issue this guards: at the old 1e-3, --epochs 10 ended 3.7 points under the regression here (65.3% against
  // 69.0%) and auto kept epoch 15 of 20; at 1e-2 both are at 73.7% and auto keeps epoch 3 (of 8); with the head's
  // dropout 0.5, 79.0% and 75.2%; on standardised features with L2, 79.2% and 79.0% (auto early-stopped on the
  // validation loss), 79.2% and 79.3% (auto trained to convergence).
  const sklearn = spawnSync('/usr/bin/python3', ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0;
  if (!sklearn) process.stderr.write('NOTICE: /usr/bin/python3 has no sklearn (python3-sklearn): the linear-probe test is skipped\n');
  test('real MobileNet features, CIFAR-10 cat/dog held out: --epochs 10 and the defaults within 1 point of a logistic regression', {
    skip: needsShared(MOBILENET_H5) || (!sklearn && 'no scikit-learn'),
  }, async () => {
    const dir = tempDir();
    try {
      const pair = ['cat', 'dog'];
      const r = await measure('cifar10 cat/dog', linkSplit(path.join(dir, 'train'), pair, 0, 400), linkSplit(path.join(dir, 'test'), pair, 400, 700), 96, [
        '10',
        'auto',
      ]);
      const probe = r.logisticRegression?.default;
      assert.ok(probe !== undefined && probe > 0.6, `the logistic regression ran: ${JSON.stringify(r.logisticRegression)}`);
      for (const [spec, p] of Object.entries(r.paths)) assert.ok(p.heldOut >= probe - 0.01, `${spec}: held out ${p.heldOut} against ${probe}`);
      // Against the cross-validated probe (78.2%, strong L2 on standardised features): the default head, trained
      // the same way, gets both paths there (--epochs 10 79.2%, defaults 79.3%); with dropout 0.5 on raw features
      // 79.0% and 75.2%, without dropout 73.7% and 73.7%.
      const cv = r.logisticRegression?.cv as number;
      for (const spec of ['10', 'auto'])
        assert.ok(r.paths[spec].heldOut >= cv - 0.01, `${spec}: held out ${r.paths[spec].heldOut} against the CV-tuned probe's ${cv}`);
      // Auto trains this convex head to convergence (21 epochs here at 0.01; the CIFAR pairs of bench/accuracy.ts 17–23).
      const kept = Number(/best (\d+)/.exec(r.paths.auto.epochs)?.[1]);
      assert.ok(kept <= 30, `epochs auto kept epoch ${kept}: the head's rate is too low to converge in about 20`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('discriminative rates', () => {
  test('--lr-decay F: the last block and the head train at the full rate, each block before at F times the next', async () => {
    const base = await applications.mobilenet({ weights: null, includeTop: false, inputShape: [32, 32, 3], alpha: 0.25 });
    const model = addHead(base, 'gap, dense:2:softmax');
    const blocks = modelBlocks(base);
    const scale = blockRateScale(model, 0.5);
    assert.equal(scale(model.layers.at(-1)?.name as string), 1);
    assert.equal(scale(blocks.at(-1)?.firstLayer as string), 1);
    assert.equal(scale(blocks.at(-2)?.firstLayer as string), 0.5);
    assert.equal(scale(blocks[0].firstLayer), 0.5 ** (blocks.length - 1));
  });
});

describe('weighted losses: both engines scale each example by its weight alike', () => {
  after(async () => void (await initBackend('cpu')));
  for (const [units, loss] of [
    [1, 'binary_crossentropy'],
    [3, 'categorical_crossentropy'],
  ] as const) {
    test(`${loss}: the step's loss is Σ wᵢ·lossᵢ / n on ONNX Runtime and tfjs-wasm, and their updates agree`, async () => {
      await initBackend('wasm');
      const input = tfl.input({ shape: [5] });
      const out = tfl.layers
        .dense({ units, activation: units === 1 ? 'sigmoid' : 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) })
        .apply(input) as tfl.SymbolicTensor;
      const model = tfl.model({ inputs: input, outputs: out });
      const n = 6;
      const x = Float32Array.from({ length: n * 5 }, () => gauss());
      const labels = [0, 1, 1, 0, units === 1 ? 1 : 2, 0];
      const y = units === 1 ? Float32Array.from(labels) : Float32Array.from(labels.flatMap((l) => [0, 1, 2].map((c) => (c === l ? 1 : 0))));
      const w = Float32Array.of(1, 3, 0.5, 2, 1, 0.25);
      const initial = model.getWeights().map((t) => t.dataSync().slice());
      const options = { from: 'out', loss, optimizer: { name: 'sgd' as const }, weighted: true };
      const run = async (trainer: Trainer) => {
        // Per-example losses (unweighted evaluate), then the weighted step.
        const each: number[] = [];
        for (let i = 0; i < n; i++) each.push((await trainer.evaluate(x.subarray(i * 5, i * 5 + 5), y.subarray(i * units, (i + 1) * units), 1)).loss);
        const step = await trainer.step(x, y, n, 0.1, w);
        trainer.writeBack();
        await trainer.dispose();
        const weights = model.getWeights().map((t) => t.dataSync().slice());
        model.setWeights(initial.map((v, i) => tf.tensor(v, model.getWeights()[i].shape)));
        return { expected: each.reduce((s, l, i) => s + w[i] * l, 0) / n, loss: step.loss, weights };
      };
      const ort = await run(await OrtTrainer.create(model, options));
      const wasm = await run(await TfjsTrainer.create(model, options, 'wasm'));
      for (const r of [ort, wasm]) assert.ok(Math.abs(r.loss - r.expected) < 1e-5, `${r.loss} vs ${r.expected}`);
      ort.weights.forEach((v, i) =>
        v.forEach((a, k) => assert.ok(Math.abs(a - wasm.weights[i][k]) < 1e-5, `weight ${i}[${k}]: ORT ${a} vs wasm ${wasm.weights[i][k]}`)),
      );
      assert.ok(
        ort.weights.some((v, i) => v.some((a, k) => a !== initial[i][k])),
        'the step moved the weights',
      );
    });
  }
});

/** Noisy images between red and blue, the mix drawn per image from a normal distribution per class (the classes overlap). */
async function mixFolder(dir: string, counts: Record<string, [number, number]>, start: number): Promise<string> {
  const { default: sharp } = await import('sharp');
  const { rand, gauss } = generators(start);
  for (const [name, [count, mean]] of Object.entries(counts)) {
    mkdirSync(path.join(dir, name), { recursive: true });
    for (let i = 0; i < count; i++) {
      const t = Math.max(0, Math.min(1, mean + 0.2 * gauss()));
      const px = Buffer.alloc(16 * 16 * 3);
      for (let p = 0; p < px.length; p++)
        px[p] = Math.max(0, Math.min(255, (p % 3 === 0 ? 40 + 180 * t : p % 3 === 2 ? 220 - 180 * t : 60) + (rand() - 0.5) * 40));
      await sharp(px, { raw: { width: 16, height: 16, channels: 3 } })
        .png()
        .toFile(path.join(dir, name, `${String(i).padStart(3, '0')}.png`));
    }
  }
  return dir;
}

describe('class weights on a 1:9 binary set', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Real MobileNet features: a randomly initialised base is drawn anew each run (its init is not seeded), which
  // made the two runs' features, and so the comparison, change from run to run.
  test('--class-weight balanced scores a clearly higher balanced accuracy on held-out images than no weights', {
    skip: needsShared(MOBILENET_H5),
  }, async () => {
    const train = await mixFolder(path.join(dir, 'train'), { common: [270, 0.4], rare: [30, 0.6] }, 5);
    const heldOut = await mixFolder(path.join(dir, 'held-out'), { common: [80, 0.4], rare: [80, 0.6] }, 6);
    const files = (await listImageFolder(heldOut)).files;
    const scores: Record<string, number> = {};
    for (const classWeight of ['none', 'balanced'] as const) {
      const o = {
        base: 'mobilenet',
        alpha: 0.25,
        weights: MOBILENET_H5,
        inputSize: 96,
        head: 'gap, dense:1:sigmoid',
        learningRate: 0.01,
        classWeight,
        seed: 3,
      };
      const r = await trainImageClassifier(train, o);
      // n / (2 × count) per class: about 0.56 and 5 on the ~9:1 training split.
      if (classWeight === 'balanced')
        assert.ok(r.classWeights && r.classWeights[1] / r.classWeights[0] > 8 && r.classWeights[1] / r.classWeights[0] < 11, String(r.classWeights));
      const e = await evaluateFiles(r.model, trainedModelMetadata(r, o, train), files, r.classNames);
      scores[classWeight] = e.balancedAccuracy;
    }
    console.log(`held-out balanced accuracy: class weights balanced ${scores.balanced.toFixed(3)}, none ${scores.none.toFixed(3)}`);
    assert.ok(scores.balanced > scores.none + 0.05, `balanced accuracy: with weights ${scores.balanced}, without ${scores.none}`);
  });
});

describe('the CLI: epochs auto, lr-find, thresholds', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));
  test('train with no --epochs: the default head converges, another stops on the validation loss, keeps the best epoch and says so; without validation it falls back', async () => {
    const data = await makeImageFolder(path.join(dir, 'data'), { perClass: 12, size: 32 });
    const out = path.join(dir, 'model');
    const r = cli(['train', data, ...TINY_BASE, '--threshold', 'auto', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const [phase] = j.phases;
    assert.equal(phase.epochs, 'auto');
    assert.equal(phase.stoppedAt, j.history.length);
    // The default head is a convex problem: auto trains it until its regularised training loss stops falling.
    assert.ok(phase.bestEpoch >= 1 && phase.bestEpoch <= phase.stoppedAt, JSON.stringify(phase));
    assert.match(r.stderr, phase.stoppedAt === 200 ? /reached the cap/ : /no lower regularised training loss for 5 epoch/);
    assert.match(r.stderr, new RegExp(`restored the weights of epoch ${phase.bestEpoch} \\(regularised training loss`));
    assert.ok(j.threshold > 0 && j.threshold < 1 && j.val.report.binary.threshold === j.threshold);
    const saved = JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8'));
    assert.equal(saved.threshold, j.threshold);
    // The default head regularises: standardised features and an L2 penalty on cached features (no dropout then),
    // dropout 0.5 where it trains on raw features.
    assert.equal(saved.head, 'gap, dense:1:sigmoid');
    assert.deepEqual(
      [DEFAULT_HEAD_DROPOUT, DEFAULT_STANDARDIZE],
      [
        { zoo: 0.5, onnx: 0.2 },
        { zoo: true, onnx: false },
      ],
    );
    assert.deepEqual([defaultL2(195), defaultL2(640), defaultL2(6400)], [0.1, 0.1, 0.01]);
    const off = cli(['train', data, ...TINY_BASE, '--standardize', 'off', '--out', path.join(dir, 'off'), '--json']);
    assert.equal(off.code, 0, off.stderr);
    assert.equal(JSON.parse(readFileSync(path.join(dir, 'off', 'transferkit.json'), 'utf8')).head, 'gap, dropout:0.5, dense:1:sigmoid');
    // Any other head: Keras's early stopping on the validation loss, and the best epoch's weights.
    const [early] = JSON.parse(off.stdout).phases;
    assert.ok(early.bestEpoch >= 1 && (early.stoppedAt === 200 || early.stoppedAt - early.bestEpoch === 5), JSON.stringify(early));
    assert.match(off.stderr, new RegExp(`restored the weights of epoch ${early.bestEpoch} \\(validation loss`));
    const none = cli(['train', data, ...TINY_BASE, '--validation-split', '0', '--json']);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /epochs auto needs a validation split to stop on: training a fixed 20 epochs instead/);
    assert.equal(JSON.parse(none.stdout).history.length, 20);
    const e = cli(['evaluate', out, data, '--curves', path.join(dir, 'curves'), '--tta', '--json']);
    assert.equal(e.code, 0, e.stderr);
    const ev = JSON.parse(e.stdout);
    assert.ok(ev.binary.rocAuc >= 0 && ev.binary.rocAuc <= 1 && ev.balancedAccuracy >= 0 && ev.macro.f1 >= 0);
    for (const f of ['roc.svg', 'roc.png', 'pr.svg', 'pr.png']) assert.ok(existsSync(path.join(dir, 'curves', f)), f);
  });

  test('lr-find sweeps the rate, draws the curve with the suggestion marked and prints it', async () => {
    const data = await makeImageFolder(path.join(dir, 'lr-data'), { perClass: 12, size: 32 });
    const out = path.join(dir, 'lr');
    const r = cli(['lr-find', data, ...TINY_BASE, '--steps', '60', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.ok(j.suggested > 0 && Math.abs(j.suggested - j.minimum / 10) < 1e-12);
    assert.ok(j.points.length > 20 && j.points.every((p: { lr: number; loss: number }) => p.lr > 0 && Number.isFinite(p.loss)));
    const svg = readFileSync(path.join(out, 'lr-find.svg'), 'utf8');
    assert.match(svg, /suggested/);
    assert.ok(existsSync(path.join(out, 'lr-find.png')));
    const help = cli(['lr-find', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /range test/);
  });
});
