// The linear probe: multinomial logistic regression on pooled features, fitted by L-BFGS to the same objective
// as scikit-learn's LogisticRegression (C · Σ cross-entropy + ½‖W‖², bias unpenalised), so its numbers compare
// with the ones papers report for "linear probe" evaluations.

/** Rows of features (n × dim, row-major) with one class label each. */
export interface FeatureRows {
  x: Float32Array;
  dim: number;
  labels: number[];
}

/** A fitted multinomial logistic regression, laid out as a Keras Dense layer. */
export interface LinearModel {
  /** dim × classes, row-major (a Keras Dense kernel). */
  kernel: Float32Array;
  bias: Float32Array;
  classes: number;
}

/** Softmax of logits row by row, in place. */
export function softmaxRows(logits: Float64Array | Float32Array, classes: number): void {
  for (let r = 0; r < logits.length; r += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += logits[r + c] = Math.exp(logits[r + c] - max);
    for (let c = 0; c < classes; c++) logits[r + c] /= sum;
  }
}

/** x · kernel + bias for every row: n × classes logits. */
export function linearLogits(rows: { x: Float32Array; dim: number }, m: LinearModel): Float64Array {
  const n = rows.x.length / rows.dim;
  const out = new Float64Array(n * m.classes);
  for (let i = 0; i < n; i++)
    for (let d = 0; d < rows.dim; d++) {
      const v = rows.x[i * rows.dim + d];
      if (v === 0) continue;
      for (let c = 0; c < m.classes; c++) out[i * m.classes + c] += v * m.kernel[d * m.classes + c];
    }
  for (let i = 0; i < n; i++) for (let c = 0; c < m.classes; c++) out[i * m.classes + c] += m.bias[c];
  return out;
}

/** The objective and its gradient at w = [kernel (dim × classes), bias (classes)]. */
function objective(data: FeatureRows, classes: number, c: number, w: Float64Array, grad: Float64Array): number {
  const { x, dim, labels } = data;
  const kernel = w.subarray(0, dim * classes);
  const m = { kernel: Float32Array.from(kernel), bias: Float32Array.from(w.subarray(dim * classes)), classes };
  const p = linearLogits(data, m);
  softmaxRows(p, classes);
  grad.fill(0);
  let loss = 0;
  for (let i = 0; i < labels.length; i++) {
    loss -= Math.log(Math.max(p[i * classes + labels[i]], 1e-300));
    p[i * classes + labels[i]] -= 1;
    for (let k = 0; k < classes; k++) {
      const e = c * p[i * classes + k];
      grad[dim * classes + k] += e;
      if (e === 0) continue;
      for (let d = 0; d < dim; d++) grad[d * classes + k] += e * x[i * dim + d];
    }
  }
  let l2 = 0;
  for (let j = 0; j < kernel.length; j++) {
    l2 += kernel[j] * kernel[j];
    grad[j] += kernel[j];
  }
  return c * loss + 0.5 * l2;
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);

/**
 * Fits the probe by L-BFGS (10 pairs, backtracking Armijo line search) until the gradient's largest entry is
 * below 1e-4 · C · n or `maxIterations` pass. `c` is scikit-learn's C (inverse regularisation, default 1).
 */
export function fitLogistic(data: FeatureRows, classes: number, options: { c?: number; maxIterations?: number } = {}): LinearModel {
  const c = options.c ?? 1;
  const size = data.dim * classes + classes;
  let w = new Float64Array(size);
  let g = new Float64Array(size);
  let f = objective(data, classes, c, w, g);
  const history: Array<{ s: Float64Array; y: Float64Array; rho: number }> = [];
  const tolerance = 1e-4 * c * Math.max(1, data.labels.length);
  for (let it = 0; it < (options.maxIterations ?? 500); it++) {
    if (g.reduce((m, v) => Math.max(m, Math.abs(v)), 0) < tolerance) break;
    // Two-loop recursion: direction = −H·g.
    const q = Float64Array.from(g);
    const alphas: number[] = [];
    for (let j = history.length - 1; j >= 0; j--) {
      const a = history[j].rho * dot(history[j].s, q);
      alphas[j] = a;
      for (let i = 0; i < size; i++) q[i] -= a * history[j].y[i];
    }
    const last = history.at(-1);
    const gamma = last ? dot(last.s, last.y) / dot(last.y, last.y) : 1 / Math.sqrt(dot(g, g));
    for (let i = 0; i < size; i++) q[i] *= gamma;
    for (let j = 0; j < history.length; j++) {
      const b = history[j].rho * dot(history[j].y, q);
      for (let i = 0; i < size; i++) q[i] += history[j].s[i] * (alphas[j] - b);
    }
    const slope = -dot(g, q);
    if (!(slope < 0)) {
      history.length = 0;
      continue;
    }
    let step = 1;
    const next = new Float64Array(size);
    const nextG = new Float64Array(size);
    let nextF = Infinity;
    for (let tries = 0; tries < 30; tries++, step /= 2) {
      for (let i = 0; i < size; i++) next[i] = w[i] - step * q[i];
      nextF = objective(data, classes, c, next, nextG);
      if (nextF <= f + 1e-4 * step * slope) break;
    }
    if (!(nextF < f)) break;
    const s = next.map((v, i) => v - w[i]);
    const y = nextG.map((v, i) => v - g[i]);
    const sy = dot(s, y);
    if (sy > 1e-12) history.push({ s, y, rho: 1 / sy });
    if (history.length > 10) history.shift();
    const done = (f - nextF) / Math.max(Math.abs(f), 1) < 1e-10;
    [w, g, f] = [next, nextG, nextF];
    if (done) break;
  }
  return { kernel: Float32Array.from(w.subarray(0, data.dim * classes)), bias: Float32Array.from(w.subarray(data.dim * classes)), classes };
}
