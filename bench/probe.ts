// How right a head trained on real MobileNet α=0.25 features is, next to logistic regressions (scikit-learn,
// Debian's python3-sklearn) on the same pooled features: what bench/accuracy.ts and the defaults' test measure.
// Each path is a training run with the default head and seed: `auto` (the defaults), `N` (--epochs N) or
// `SCHEDULE:N` (--schedule S --epochs N), with `@LR` for a rate and `~D` for an explicit head with dropout D.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfl from '@tensorflow/tfjs-layers';
import { applications, trainImageClassifier } from '../src/index.js';
import { photoSource } from '../src/data/batches.js';
import { type LabelledFile, listImageFolder } from '../src/data/folders.js';
import { NpyWriter } from '../src/data/npy.js';
import { extractFeatures } from '../src/train/features/extract.js';
import { SCHEDULES, type ScheduleName } from '../src/train/fit/schedule.js';
import { scratchDir } from '../src/util/fs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = path.resolve(ROOT, '..', 'shared');
export const H5 = path.join(SHARED, 'weights', 'mobilenet_2_5_224_tf_no_top.h5');

/** Class folders of symlinks to CIFAR-10 images: `from`–`to` (file numbers) of each class. */
export function linkSplit(dir: string, classes: string[], from: number, to: number): string {
  for (const c of classes) {
    mkdirSync(path.join(dir, c), { recursive: true });
    for (let i = from; i < to; i++) {
      const name = `${String(i).padStart(4, '0')}.jpg`;
      symlinkSync(path.join(SHARED, 'data', 'cifar10-test', c, name), path.join(dir, c, name));
    }
  }
  return dir;
}

/** Pooled base features (what the default head's `gap` sees) of a split, in memory and as a .npy for scikit-learn. */
interface Pooled {
  rows: Float32Array;
  labels: number[];
  width: number;
}

async function pooledFeatures(files: LabelledFile[], size: number, file: string): Promise<Pooled> {
  const base = await applications.mobilenet({ weights: H5, includeTop: false, inputShape: [size, size, 3], alpha: 0.25, pooling: 'avg' });
  const width = base.outputs[0].shape[1] as number;
  const chunks: Float32Array[] = [];
  const w = await NpyWriter.open(file, [width]);
  const r = await extractFeatures(
    base,
    files,
    async (rows, n) => {
      chunks.push(rows.slice(0, n * width));
      await w.append(rows, n);
    },
    { source: photoSource('tf') },
  );
  await w.close();
  base.dispose();
  writeFileSync(file.replace(/\.npy$/, '.labels.json'), JSON.stringify(r.labels));
  const rows = new Float32Array(r.labels.length * width);
  let at = 0;
  for (const c of chunks) {
    rows.set(c, at);
    at += c.length;
  }
  return { rows, labels: r.labels, width };
}

/**
 * Logistic regressions on pooled base features, held-out accuracy: scikit-learn's defaults (C=1, max_iter 5000),
 * and the linear probe with C chosen by 5-fold cross-validation on the training images (LogisticRegressionCV over
 * 10⁻³…10³ on standardised features), the stronger of the two on these sets.
 */
function logisticRegression(dir: string): Probe | null {
  const py = `
import json, sys, numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
d = sys.argv[1]
X, Xt = np.load(d + '/train.npy'), np.load(d + '/test.npy')
y, yt = json.load(open(d + '/train.labels.json')), json.load(open(d + '/test.labels.json'))
cv = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=np.logspace(-3, 3, 13), cv=5, max_iter=5000)).fit(X, y)
print(json.dumps({'default': LogisticRegression(max_iter=5000).fit(X, y).score(Xt, yt), 'cv': cv.score(Xt, yt), 'c': float(cv[-1].C_[0])}))`;
  try {
    return JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, dir], { encoding: 'utf8' }));
  } catch {
    return null;
  }
}

/**
 * Held-out accuracy of a default head (gap, dropout, dense) on pooled features: its dense layer applied to them,
 * which is what the whole model computes on those images (dropout is off at inference), without running the
 * base again for every path.
 */
function headAccuracy(model: tfl.LayersModel, test: Pooled, threshold: number): number {
  const [kernel, bias] = (model.layers.at(-1) as tfl.layers.Layer).getWeights().map((t) => t.dataSync());
  const units = bias.length;
  let right = 0;
  test.labels.forEach((label, i) => {
    const z = Array.from({ length: units }, (_, u) => {
      let s = bias[u];
      for (let k = 0; k < test.width; k++) s += test.rows[i * test.width + k] * kernel[k * units + u];
      return s;
    });
    const predicted = units === 1 ? Number(1 / (1 + Math.exp(-z[0])) >= threshold) : z.indexOf(Math.max(...z));
    right += predicted === label ? 1 : 0;
  });
  return right / test.labels.length;
}

export interface Probe {
  /** Held-out accuracy with scikit-learn's defaults (C=1), and with C cross-validated on standardised features. */
  default: number;
  cv: number;
  c: number;
}

export interface PathResult {
  val: number | null;
  heldOut: number;
  /** Epochs run per phase, and the one kept under auto. */
  epochs: string;
  lr: string;
  /** Each seed's held-out accuracy, when several ran (`heldOut` is then their mean; the rest is the first seed's). */
  bySeed?: number[];
}

export interface SetResult {
  data: string;
  size: number;
  logisticRegression: Probe | null;
  paths: Record<string, PathResult>;
}

/**
 * A path: `auto`, `N` or `SCHEDULE:N`, then `@LR` for a learning rate, `~D` for an explicit head
 * `gap, dropout:D, dense:…` (what `--head` gives), `^L` for an L2 penalty on the head's kernel, `+s` / `-s`
 * for standardised features on / off and `+r` for a refit on training + validation rows under auto.
 */
function pathOptions(spec: string, output: string): Record<string, unknown> {
  const [, body, l2, std, refit] = /^([^^+-]*)(?:\^([\d.e]+))?([+-]s)?(\+r)?$/.exec(spec) ?? [];
  if (body === undefined) throw new Error(`--paths: ${spec} is not auto, N or SCHEDULE:N (with @LR, ~D, ^L2, +s)`);
  const [rest, dropout] = body.split('~');
  const [what, lr] = rest.split('@');
  const rate = {
    ...(lr === undefined ? {} : { learningRate: Number(lr) }),
    ...(dropout === undefined ? {} : { head: `gap, dropout:${dropout}, ${output}` }),
    ...(l2 === undefined ? {} : { l2: Number(l2) }),
    ...(std === undefined ? {} : { standardize: std === '+s' }),
    ...(refit === undefined ? {} : { refit: true }),
  };
  if (what === 'auto') return rate;
  const [a, b] = what.split(':');
  if (b === undefined) return { epochs: Number(a), ...rate };
  if (!(SCHEDULES as readonly string[]).includes(a)) throw new Error(`--paths: ${spec} is not auto, N or SCHEDULE:N (with @LR)`);
  return { schedule: a as ScheduleName, epochs: Number(b), ...rate };
}

/** One training run of a path on cached features, scored held out. */
async function runPath(trainDir: string, test: Pooled, size: number, spec: string, seed: number | undefined): Promise<PathResult> {
  const output = test.labels.some((l) => l > 1) ? `dense:${Math.max(...test.labels) + 1}:softmax` : 'dense:1:sigmoid';
  const o = { base: 'mobilenet', alpha: 0.25, weights: H5, inputSize: size, featureCache: 'disk' as const, seed, ...pathOptions(spec, output) };
  const r = await trainImageClassifier(trainDir, o);
  const heldOut = headAccuracy(r.model, test, r.threshold ?? 0.5);
  r.model.dispose();
  const epochs = r.phases.map((p) => `${p.stoppedAt}${p.bestEpoch !== null ? ` (best ${p.bestEpoch})` : ''}`).join('+');
  return { val: r.val.accuracy, heldOut, epochs, lr: r.phases.map((p) => +p.learningRate.toPrecision(3)).join('+') };
}

/**
 * The regressions, then each path's run, on one set (logged as JSON lines as they finish). With several seeds
 * (each draws its own validation split, head initialisation and dropout masks) a path's `heldOut` is their mean
 * and `bySeed` lists each run's: one seed's result on 153–1,200 images moves by a point or more.
 */
export async function measure(
  name: string,
  trainDir: string,
  testDir: string,
  size: number,
  paths: string[],
  seeds: (number | undefined)[] = [undefined],
): Promise<SetResult> {
  const tmp = scratchDir('tk-acc-');
  // The frozen base's outputs are computed once per set; every path reads them from this cache.
  process.env.TRANSFERKIT_HOME = path.join(tmp, 'home');
  await pooledFeatures((await listImageFolder(trainDir)).files, size, path.join(tmp, 'train.npy'));
  const test = await pooledFeatures((await listImageFolder(testDir)).files, size, path.join(tmp, 'test.npy'));
  const row: SetResult = { data: name, size, logisticRegression: logisticRegression(tmp), paths: {} };
  console.log(JSON.stringify(row));
  for (const spec of paths) {
    const runs: PathResult[] = [];
    for (const seed of seeds) {
      runs.push(await runPath(trainDir, test, size, spec, seed));
      console.log(JSON.stringify({ data: name, path: spec, ...(seed === undefined ? {} : { seed }), ...runs.at(-1) }));
    }
    const mean = runs.reduce((sum, r) => sum + r.heldOut, 0) / runs.length;
    row.paths[spec] = runs.length === 1 ? runs[0] : { ...runs[0], heldOut: mean, bySeed: runs.map((r) => r.heldOut) };
  }
  return row;
}
