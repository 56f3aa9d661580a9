// Are the probabilities right? Expected calibration error (Guo et al., 2017: 15 equal-width confidence bins), the
// Brier score, and temperature scaling: one number T fitted on held-out data that divides the logits, which
// changes no argmax (so no accuracy) and, on over-confident networks, most of the calibration error.

/** Rows of class probabilities (n × classes) with each row's true class. */
export interface ScoredRows {
  probabilities: ArrayLike<number>;
  classes: number;
  labels: number[];
}

export interface ReliabilityBin {
  /** The bin's confidence range [lower, upper). */
  lower: number;
  upper: number;
  count: number;
  /** Mean top-class probability and accuracy of the rows that fall in it (null when empty). */
  confidence: number | null;
  accuracy: number | null;
}

function top(p: ArrayLike<number>, row: number, classes: number): { label: number; confidence: number } {
  let label = 0;
  for (let c = 1; c < classes; c++) if (p[row * classes + c] > p[row * classes + label]) label = c;
  return { label, confidence: p[row * classes + label] };
}

/** The reliability diagram's bins and the ECE: Σ_b (n_b / n) · |accuracy_b − confidence_b|. */
export function calibrationError(rows: ScoredRows, bins = 15): { ece: number; bins: ReliabilityBin[] } {
  const acc = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const count = new Array<number>(bins).fill(0);
  rows.labels.forEach((label, i) => {
    const t = top(rows.probabilities, i, rows.classes);
    const b = Math.min(bins - 1, Math.floor(t.confidence * bins));
    count[b]++;
    conf[b] += t.confidence;
    acc[b] += t.label === label ? 1 : 0;
  });
  const n = rows.labels.length;
  let ece = 0;
  const out = count.map((k, b) => {
    if (k) ece += (k / n) * Math.abs(acc[b] / k - conf[b] / k);
    return { lower: b / bins, upper: (b + 1) / bins, count: k, confidence: k ? conf[b] / k : null, accuracy: k ? acc[b] / k : null };
  });
  return { ece: n ? ece : Number.NaN, bins: out };
}

/** Mean over rows of Σ_c (p_c − [c = label])² (the multi-class Brier score: 0 perfect, 2 worst). */
export function brierScore(rows: ScoredRows): number {
  let sum = 0;
  rows.labels.forEach((label, i) => {
    for (let c = 0; c < rows.classes; c++) {
      const d = rows.probabilities[i * rows.classes + c] - (c === label ? 1 : 0);
      sum += d * d;
    }
  });
  return rows.labels.length ? sum / rows.labels.length : Number.NaN;
}

/** Probabilities at temperature T from probabilities at 1: softmax(log p / T) (log p are the logits up to a shift). */
export function atTemperature(rows: ScoredRows, t: number): Float64Array {
  const out = new Float64Array(rows.probabilities.length);
  for (let r = 0; r < out.length; r += rows.classes) {
    let max = -Infinity;
    for (let c = 0; c < rows.classes; c++) max = Math.max(max, (out[r + c] = Math.log(Math.max(rows.probabilities[r + c], 1e-12)) / t));
    let sum = 0;
    for (let c = 0; c < rows.classes; c++) sum += out[r + c] = Math.exp(out[r + c] - max);
    for (let c = 0; c < rows.classes; c++) out[r + c] /= sum;
  }
  return out;
}

function nll(rows: ScoredRows, t: number): number {
  const p = atTemperature(rows, t);
  return rows.labels.reduce((s, l, i) => s - Math.log(Math.max(p[i * rows.classes + l], 1e-12)), 0);
}

/** The minimum of a unimodal function on [a, b], by golden-section search to within `tolerance`. */
export function goldenMinimum(f: (x: number) => number, a: number, b: number, tolerance: number): number {
  const phi = (Math.sqrt(5) - 1) / 2;
  while (b - a > tolerance) {
    const x1 = b - phi * (b - a);
    const x2 = a + phi * (b - a);
    if (f(x1) < f(x2)) b = x2;
    else a = x1;
  }
  return (a + b) / 2;
}

/**
 * The temperature that minimises the negative log-likelihood of `rows` (the validation split), searched on
 * log T over [1/100, 100] (the NLL is unimodal in T).
 */
export function fitTemperature(rows: ScoredRows): number {
  return Math.exp(goldenMinimum((logT) => nll(rows, Math.exp(logT)), Math.log(0.01), Math.log(100), 1e-4));
}
