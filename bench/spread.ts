// How much a side's rounds vary, and a ratio with its range: the bench reports no ratio without one (issue 30).

/** The rounds of one side: lowest, quartiles by linear interpolation, median, highest. */
export interface Spread {
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  /** (q3 − q1) / median: the interquartile range relative to the median, comparable across workloads. */
  relIqr: number;
}

function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function spreadOf(values: number[]): Spread {
  if (!values.length) throw new RangeError('spreadOf: no values');
  const s = [...values].sort((a, b) => a - b);
  const median = quantile(s, 0.5);
  const q1 = quantile(s, 0.25);
  const q3 = quantile(s, 0.75);
  return { min: s[0], q1, median, q3, max: s[s.length - 1], relIqr: median === 0 ? 0 : (q3 - q1) / median };
}

const digits = (v: number) => (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
const num = (v: number) => v.toFixed(digits(v));

/** "12.3 (11.0–15.2)": the median and the range of a side's rounds, in its own unit. */
export function formatSpread(s: Pick<Spread, 'min' | 'median' | 'max'>): string {
  return `${num(s.median)} (${num(s.min)}-${num(s.max)})`;
}

/** "1.23x (0.98-1.40)", or "-" where there is no ratio: a ratio is never shown without its range. */
export function formatRatio(ratio: number | null, range: [number, number] | null | undefined): string {
  if (ratio === null || !range) return '-';
  return `${ratio.toFixed(2)}x (${range[0].toFixed(2)}-${range[1].toFixed(2)})`;
}

/** Pearson's r of two series (a side's turn times and the others' CPU share in them: near 1, load explains the swing). */
export function correlation(xs: number[], ys: number[]): number | null {
  const n = xs.length;
  if (n < 3 || ys.length !== n) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx && syy ? sxy / Math.sqrt(sxx * syy) : null;
}
