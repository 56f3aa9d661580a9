// Heads that need no gradient training, on pooled features: k-nearest neighbours and nearest class mean
// (prototype) by cosine similarity, and the linear probe. The same arithmetic runs here (for scoring the
// validation split and cross-validation) and as the saved model's layers (UnitNormalization, Dense, NeighbourVote).
import { UsageError } from '../errors.js';
import { unitRows } from '../util/vectors.js';
import { goldenMinimum } from '../train/evaluate/calibration.js';
import { type FeatureRows, type LinearModel, fitLogistic, linearLogits, softmaxRows } from './linear-probe.js';

export type EmbeddingHead = { kind: 'knn'; k: number } | { kind: 'prototype' } | { kind: 'logistic' };

export const DEFAULT_K = 10;

export const EMBEDDING_HEAD_HELP = `knn[:K] (k nearest stored training images by cosine similarity vote; K default ${DEFAULT_K}) | prototype (nearest class mean, cosine) | logistic (the linear probe: logistic regression, L-BFGS)`;

/** `knn`, `knn:5`, `prototype`, `logistic` → the head; any other spec is a layer list (null). */
export function parseEmbeddingHead(spec: string | undefined): EmbeddingHead | null {
  const [kind, arg, ...rest] = (spec ?? '').trim().toLowerCase().split(':');
  if (kind === 'knn') {
    const k = arg === undefined ? DEFAULT_K : Number(arg);
    if (rest.length || !Number.isInteger(k) || k < 1) throw new UsageError(`--head ${spec}: knn takes knn:K with K a positive integer`);
    return { kind: 'knn', k };
  }
  if (kind === 'prototype' || kind === 'logistic') {
    if (arg !== undefined) throw new UsageError(`--head ${spec}: ${kind} takes no argument`);
    return { kind };
  }
  return null;
}

export const formatEmbeddingHead = (h: EmbeddingHead) => (h.kind === 'knn' ? `knn:${h.k}` : h.kind);

/** The unit-length mean of each class's unit rows, as a dim × classes Dense kernel (scaled). */
export function prototypeKernel(unit: FeatureRows, classes: number, scale: number): Float32Array {
  const sums = new Float64Array(unit.dim * classes);
  unit.labels.forEach((l, i) => {
    for (let d = 0; d < unit.dim; d++) sums[d * classes + l] += unit.x[i * unit.dim + d];
  });
  const kernel = new Float32Array(sums.length);
  for (let c = 0; c < classes; c++) {
    let s = 0;
    for (let d = 0; d < unit.dim; d++) s += sums[d * classes + c] ** 2;
    const norm = Math.max(Math.sqrt(s), 1e-12);
    for (let d = 0; d < unit.dim; d++) kernel[d * classes + c] = (scale * sums[d * classes + c]) / norm;
  }
  return kernel;
}

/** Each stored row's similarity to each query row: queries × stored, both unit rows. */
function similarities(query: Float32Array, stored: Float32Array, dim: number): Float32Array {
  const q = query.length / dim;
  const n = stored.length / dim;
  const out = new Float32Array(q * n);
  for (let i = 0; i < q; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += query[i * dim + d] * stored[j * dim + d];
      out[i * n + j] = s;
    }
  return out;
}

/** NeighbourVote's output for unit query rows against stored unit rows and their labels. */
export function knnProbabilities(query: Float32Array, stored: FeatureRows, classes: number, k: number): Float64Array {
  const n = stored.labels.length;
  const s = similarities(query, stored.x, stored.dim);
  const q = s.length / n;
  const kk = Math.min(k, n);
  const out = new Float64Array(q * classes);
  for (let i = 0; i < q; i++) {
    const row = s.subarray(i * n, (i + 1) * n);
    const kth = Float32Array.from(row).sort((a, b) => b - a)[kk - 1];
    let total = 0;
    for (let j = 0; j < n; j++)
      if (row[j] >= kth) {
        const w = 1 + 0.001 * row[j];
        out[i * classes + stored.labels[j]] += w;
        total += w;
      }
    for (let c = 0; c < classes; c++) out[i * classes + c] /= total;
  }
  return out;
}

/** A fitted head: what the saved model's layers hold, and its probabilities on other rows (not unit). */
export interface FittedHead {
  head: EmbeddingHead;
  /** The last Dense layer's kernel (dim × units) and bias (logistic only). */
  kernel: Float32Array;
  bias?: Float32Array;
  /** kNN: the stored examples' classes. */
  labels?: number[];
  /** Prototype: the cosine similarities' scale before the softmax (fitted like a temperature). */
  scale?: number;
  probabilities(x: Float32Array): Float64Array;
}

/**
 * Fits the head on training rows (raw pooled features). A prototype head's scale is fitted on `calibrate` rows
 * (the validation split, else the training rows) by the NLL of the softmax of scale · cosine.
 */
export function fitHead(head: EmbeddingHead, train: FeatureRows, classes: number, calibrate?: FeatureRows): FittedHead {
  if (head.kind === 'logistic') {
    const m: LinearModel = fitLogistic(train, classes);
    return {
      head,
      kernel: m.kernel,
      bias: m.bias,
      probabilities: (x) => {
        const p = linearLogits({ x, dim: train.dim }, m);
        softmaxRows(p, classes);
        return p;
      },
    };
  }
  const unit = { ...train, x: unitRows(train) };
  if (head.kind === 'knn')
    return {
      head,
      kernel: transpose(unit.x, unit.dim),
      labels: unit.labels,
      probabilities: (x) => knnProbabilities(unitRows({ x, dim: train.dim }), unit, classes, head.k),
    };
  const cosines = prototypeKernel(unit, classes, 1);
  const logits = (x: Float32Array, scale: number) => {
    const p = linearLogits({ x: unitRows({ x, dim: train.dim }), dim: train.dim }, { kernel: cosines, bias: new Float32Array(classes), classes });
    for (let i = 0; i < p.length; i++) p[i] *= scale;
    softmaxRows(p, classes);
    return p;
  };
  const held = calibrate?.labels.length ? calibrate : train;
  const scale = bestScale(held, (s) => logits(held.x, s));
  return { head, kernel: prototypeKernel(unit, classes, scale), scale, probabilities: (x) => logits(x, scale) };
}

/** The scale in [1, 1000] minimising the NLL (unimodal in its logarithm). */
function bestScale(rows: FeatureRows, probabilities: (scale: number) => Float64Array): number {
  const classes = probabilities(1).length / rows.labels.length;
  const nll = (logScale: number) => {
    const p = probabilities(Math.exp(logScale));
    return rows.labels.reduce((s, l, i) => s - Math.log(Math.max(p[i * classes + l], 1e-12)), 0);
  };
  return Math.exp(goldenMinimum(nll, 0, Math.log(1000), 1e-3));
}

/** n × dim rows → dim × n (a Dense kernel whose columns are the rows). */
export function transpose(x: Float32Array, dim: number): Float32Array {
  const n = x.length / dim;
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) out[d * n + i] = x[i * dim + d];
  return out;
}
