// The numbers people report for a classifier: per-class precision, recall and F1, macro averages, balanced
// accuracy, and for two classes ROC AUC, PR AUC (average precision), sensitivity and specificity at a threshold.
import type { Task } from '../fit/options.js';

/** Targets for a batch: the value (regression), one 0/1 column (two classes) or one-hot rows. */
export function targets(labels: number[], task: Task, classes: number): Float32Array {
  if (task !== 'categorical') return Float32Array.from(labels);
  const y = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => (y[i * classes + l] = 1));
  return y;
}

/** Sums over a pass: right answers (classification) or absolute and squared errors (regression). */
export class Tally {
  n = 0;
  loss = 0;
  right = 0;
  abs = 0;
  sq = 0;

  constructor(
    private readonly task: Task,
    private readonly classes: number,
  ) {}

  add(loss: number, output: Float32Array, labels: number[]): void {
    this.n += labels.length;
    this.loss += loss * labels.length;
    labels.forEach((l, i) => {
      if (this.task === 'regression') {
        this.abs += Math.abs(output[i] - l);
        this.sq += (output[i] - l) ** 2;
      } else if (this.task === 'binary') this.right += (output[i] >= 0.5 ? 1 : 0) === l ? 1 : 0;
      else this.right += argmax(output.subarray(i * this.classes, (i + 1) * this.classes)) === l ? 1 : 0;
    });
  }

  get meanLoss(): number {
    return this.loss / this.n;
  }

  metrics(): { accuracy: number | null; mae?: number; rmse?: number } {
    if (this.task !== 'regression') return { accuracy: this.right / this.n };
    return { accuracy: null, mae: this.abs / this.n, rmse: Math.sqrt(this.sq / this.n) };
  }
}

const argmax = (row: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
};

import type { ClassMetrics, ClassificationReport } from '../shapes.js';

export type { ClassMetrics, ClassificationReport } from '../shapes.js';

/** Class weights by Keras's and scikit-learn's 'balanced' rule: n / (classes × count of the class). */
export function balancedClassWeights(labels: number[], classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l]++;
  return counts.map((c) => (c ? labels.length / (classes * c) : 1));
}

/** ROC AUC: the chance that a random positive scores above a random negative (ties count half), via ranks. */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const order = Array.from(scores, (s, i) => ({ s, p: positive[i] })).sort((a, b) => a.s - b.s);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j].s === order[i].s) j++;
    const midRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (!order[k].p) continue;
      pos++;
      rankSum += midRank;
    }
    i = j;
  }
  const neg = order.length - pos;
  return pos && neg ? (rankSum - (pos * (pos + 1)) / 2) / (pos * neg) : NaN;
}

/** Points of the ROC and precision-recall curves, one per distinct score, from the highest threshold down. */
export function curves(scores: ArrayLike<number>, positive: ArrayLike<boolean>): Array<{ threshold: number; tpr: number; fpr: number; precision: number }> {
  const order = Array.from(scores, (s, i) => ({ s, p: positive[i] })).sort((a, b) => b.s - a.s);
  const pos = order.filter((o) => o.p).length;
  const neg = order.length - pos;
  const points: Array<{ threshold: number; tpr: number; fpr: number; precision: number }> = [];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    for (; j < order.length && order[j].s === order[i].s; j++) {
      if (order[j].p) tp++;
      else fp++;
    }
    points.push({ threshold: order[i].s, tpr: pos ? tp / pos : 0, fpr: neg ? fp / neg : 0, precision: tp / (tp + fp) });
    i = j;
  }
  return points;
}

/** Average precision, scikit-learn's PR AUC: Σ (Rₙ − Rₙ₋₁) Pₙ over the thresholds. */
export function averagePrecision(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  let recall = 0;
  let ap = 0;
  for (const p of curves(scores, positive)) {
    ap += (p.tpr - recall) * p.precision;
    recall = p.tpr;
  }
  return ap;
}

/** The threshold with the largest Youden's J (sensitivity + specificity − 1) on these scores. */
export function youdenThreshold(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  let best = { j: -Infinity, threshold: 0.5 };
  for (const p of curves(scores, positive)) if (p.tpr - p.fpr > best.j) best = { j: p.tpr - p.fpr, threshold: p.threshold };
  return best.threshold;
}

/**
 * The report on scored examples: `scores` holds one probability per example (two classes: p(second class),
 * called positive at or above `threshold`) or one row of `classNames.length` per example.
 */
export function classificationReport(scores: ArrayLike<number>, labels: number[], classNames: string[], threshold = 0.5): ClassificationReport {
  const k = classNames.length;
  const binary = k === 2 && scores.length === labels.length;
  const predicted = labels.map((_, i) => (binary ? (scores[i] >= threshold ? 1 : 0) : argmax(Array.from({ length: k }, (_, c) => scores[i * k + c]))));
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  labels.forEach((l, i) => confusion[l][predicted[i]]++);
  const perClass = classNames.map((className, c) => {
    const tp = confusion[c][c];
    const called = confusion.reduce((s, row) => s + row[c], 0);
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const precision = called ? tp / called : 0;
    const recall = support ? tp / support : 0;
    return { className, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, support };
  });
  const mean = (f: (c: ClassMetrics) => number, of = perClass) => of.reduce((s, c) => s + f(c), 0) / Math.max(1, of.length);
  const present = perClass.filter((c) => c.support > 0);
  const report: ClassificationReport = {
    accuracy: labels.length ? confusion.reduce((s, row, i) => s + row[i], 0) / labels.length : NaN,
    balancedAccuracy: mean((c) => c.recall, present),
    macro: { precision: mean((c) => c.precision), recall: mean((c) => c.recall), f1: mean((c) => c.f1) },
    perClass,
    confusionMatrix: confusion,
  };
  if (binary) {
    const positive = labels.map((l) => l === 1);
    report.binary = {
      rocAuc: rocAuc(scores, positive),
      prAuc: averagePrecision(scores, positive),
      threshold,
      sensitivity: perClass[1].recall,
      specificity: perClass[0].recall,
    };
  }
  return report;
}
