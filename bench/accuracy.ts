// `npm run bench:accuracy` (or `node dist/bench/accuracy.js [--hymenoptera] [--pairs airplane:frog,...] [--out F]`): how right the default training is.
// Two CIFAR-10 classes (files 0000–0399 of each train, 0400–0999 are held out) with real MobileNet α=0.25
// weights at 96×96, default settings, next to a logistic regression (scikit-learn, Debian's python3-sklearn) on
// the same pooled features; and optionally the hymenoptera photos at 224×224 (train/ → val/).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applications, evaluateFiles, initBackend, trainImageClassifier } from '../src/index.js';
import { photoSource } from '../src/data/batches.js';
import { type LabelledFile, listImageFolder } from '../src/data/folders.js';
import { NpyWriter } from '../src/data/npy.js';
import { extractFeatures } from '../src/train/extract.js';
import { trainedModelMetadata } from '../src/train/fit.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = path.resolve(ROOT, '..', 'shared');
const H5 = path.join(SHARED, 'weights', 'mobilenet_2_5_224_tf_no_top.h5');
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

/** Class folders of symlinks: `from`–`to` (file numbers) of each class. */
function linkSplit(dir: string, classes: string[], from: number, to: number): string {
  for (const c of classes) {
    mkdirSync(path.join(dir, c), { recursive: true });
    for (let i = from; i < to; i++) {
      const name = `${String(i).padStart(4, '0')}.jpg`;
      symlinkSync(path.join(SHARED, 'data', 'cifar10-test', c, name), path.join(dir, c, name));
    }
  }
  return dir;
}

/** Logistic regression (scikit-learn defaults, max_iter 5000) on pooled base features: held-out accuracy. */
async function logisticRegression(train: LabelledFile[], test: LabelledFile[], size: number, tmp: string): Promise<number | null> {
  const base = await applications.mobilenet({ weights: H5, includeTop: false, inputShape: [size, size, 3], alpha: 0.25, pooling: 'avg' });
  const files: Record<string, string> = {};
  for (const [name, set] of [
    ['train', train],
    ['test', test],
  ] as const) {
    const file = path.join(tmp, `${name}.npy`);
    const w = await NpyWriter.open(file, [base.outputs[0].shape[1] as number]);
    const r = await extractFeatures(base, set, (rows, n) => w.append(rows, n), { source: photoSource('tf') });
    await w.close();
    writeFileSync(path.join(tmp, `${name}.labels.json`), JSON.stringify(r.labels));
    files[name] = file;
  }
  const py = `
import json, sys, numpy as np
from sklearn.linear_model import LogisticRegression
d = sys.argv[1]
X, Xt = np.load(d + '/train.npy'), np.load(d + '/test.npy')
y, yt = json.load(open(d + '/train.labels.json')), json.load(open(d + '/test.labels.json'))
print(LogisticRegression(max_iter=5000).fit(X, y).score(Xt, yt))`;
  try {
    return Number(execFileSync('/usr/bin/python3', ['-c', py, tmp], { encoding: 'utf8' }).trim());
  } catch {
    return null;
  }
}

async function trainAndScore(trainDir: string, testDir: string, size: number, extra: Record<string, unknown> = {}) {
  const o = { base: 'mobilenet', alpha: 0.25, weights: H5, inputSize: size, ...extra };
  const r = await trainImageClassifier(trainDir, o);
  const test = await listImageFolder(testDir);
  const e = await evaluateFiles(r.model, trainedModelMetadata(r, o, trainDir), test.files, r.classNames);
  const phases = r.phases.map((p) => `${p.stoppedAt}${p.bestEpoch !== null ? ` (best ${p.bestEpoch})` : ''}`).join('+');
  return { val: r.val.accuracy, heldOut: e.accuracy, epochs: phases, seconds: r.timings.totalS, test: test.files };
}

async function main(): Promise<void> {
  if (!existsSync(H5)) throw new Error(`${H5} is missing: this benchmark needs ../shared`);
  await initBackend();
  const rows: unknown[] = [];
  const pairs = (arg('--pairs') ?? 'airplane:frog,cat:dog,automobile:truck').split(',').map((p) => p.split(':'));
  for (const pair of pairs) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'tk-acc-'));
    try {
      const train = linkSplit(path.join(tmp, 'train'), pair, 0, 400);
      const test = linkSplit(path.join(tmp, 'test'), pair, 400, 1000);
      const r = await trainAndScore(train, test, 96);
      const lr = await logisticRegression((await listImageFolder(train)).files, r.test, 96, tmp);
      const row = {
        data: `cifar10 ${pair.join('/')}`,
        size: 96,
        val: r.val,
        heldOut: r.heldOut,
        logisticRegression: lr,
        epochs: r.epochs,
        seconds: +r.seconds.toFixed(1),
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (process.argv.includes('--hymenoptera')) {
    const dir = path.join(SHARED, 'data', 'hymenoptera');
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'tk-acc-'));
    try {
      const r = await trainAndScore(path.join(dir, 'train'), path.join(dir, 'val'), 224);
      const lr = await logisticRegression((await listImageFolder(path.join(dir, 'train'))).files, r.test, 224, tmp);
      const row = {
        data: 'hymenoptera train → val',
        size: 224,
        val: r.val,
        heldOut: r.heldOut,
        logisticRegression: lr,
        epochs: r.epochs,
        seconds: +r.seconds.toFixed(1),
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const out = arg('--out');
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');
}

await main();
