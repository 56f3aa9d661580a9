// Label issues by confident learning (Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in
// Dataset Labels", JAIR 2021), on out-of-fold probabilities from K linear probes on the cached features:
//   t_j = the mean self-confidence p̂_j(x) of the examples labelled j (per-class thresholds);
//   the confident joint C[i][j] counts examples labelled i whose confident classes {j : p̂_j(x) ≥ t_j} are not
//   empty, at the most probable of them;
//   an example is an issue when it lands off the diagonal (i ≠ j), and, by default, also among the n·Q[i][j]
//   examples labelled i with the largest margin p̂_j − p̂_i (prune by noise rate; cleanlab's 'both'), where Q is
//   C calibrated to the label counts;
//   issues are ranked by self-confidence p̂_i(x) (or the normalized margin p̂_i − max_{j≠i} p̂_j), lowest first.
import { type FeatureRows, fitLogistic, linearLogits, softmaxRows } from '../heads/linear-probe.js';
import { TransferkitError } from '../errors.js';
import { seededRandom, shuffled } from '../util/random.js';

export type IssueFilter = 'both' | 'confident-joint' | 'prune-by-noise-rate';
export type IssueRank = 'self-confidence' | 'normalized-margin';

/** An example whose label looks wrong, with the class confident learning suggests instead. */
export interface LabelIssue {
  /** The example's row. */
  index: number;
  given: number;
  /** The class it was counted under in the confident joint (else the most probable other class). */
  suggested: number;
  selfConfidence: number;
  margin: number;
}

export interface LabelIssueResult {
  issues: LabelIssue[];
  /** Per-class thresholds t_j. */
  thresholds: number[];
  /** C[i][j]: given i, confidently j. */
  confidentJoint: number[][];
  /** The out-of-fold probabilities, n × classes. */
  probabilities: Float64Array;
  folds: number;
  /** The probes' regularisation (scikit-learn's C), chosen by out-of-fold log-loss. */
  c: number;
}

/** The regularisation grid (scikit-learn's C) the out-of-fold probes choose from. */
export const PROBE_C_GRID = [1, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0003];

/**
 * Each row's class probabilities from a probe fitted on the other folds (class-stratified, seeded). The probes'
 * regularisation is the C of `PROBE_C_GRID` with the lowest out-of-fold log-loss on the given labels: an
 * over-fitted probe is over-confident, and confident learning then flags many clean images (measured: C = 1 gave
 * precision 0.36 on a CIFAR-10 pair with 10% flipped labels, the chosen C 0.99).
 */
export function outOfFoldProbabilities(rows: FeatureRows, classes: number, folds: number, seed: number): { probabilities: Float64Array; c: number } {
  const n = rows.labels.length;
  if (folds < 2 || folds > n) throw new TransferkitError(`cross-validation needs 2 to ${n} folds; got ${folds}`);
  const random = seededRandom(seed);
  const fold = new Array<number>(n);
  // Stratified: each class's examples dealt round-robin over the folds after a seeded shuffle.
  let next = 0;
  for (let c = 0; c < classes; c++)
    for (const i of shuffled(
      rows.labels.flatMap((l, i) => (l === c ? [i] : [])),
      random,
    ))
      fold[i] = next++ % folds;
  const pick = (idx: number[]) => {
    const x = new Float32Array(idx.length * rows.dim);
    idx.forEach((k, i) => x.set(rows.x.subarray(k * rows.dim, (k + 1) * rows.dim), i * rows.dim));
    return { x, dim: rows.dim, labels: idx.map((k) => rows.labels[k]) };
  };
  const parts = Array.from({ length: folds }, (_, f) => ({
    held: fold.flatMap((g, i) => (g === f ? [i] : [])),
    train: pick(fold.flatMap((g, i) => (g !== f ? [i] : []))),
  }));
  let best = { probabilities: new Float64Array(0), c: Number.NaN, nll: Infinity };
  for (const c of PROBE_C_GRID) {
    const out = new Float64Array(n * classes);
    for (const { held, train } of parts) {
      const p = linearLogits(pick(held), fitLogistic(train, classes, { c, maxIterations: 200 }));
      softmaxRows(p, classes);
      held.forEach((k, i) => out.set(p.subarray(i * classes, (i + 1) * classes), k * classes));
    }
    const nll = rows.labels.reduce((s, l, i) => s - Math.log(Math.max(out[i * classes + l], 1e-12)), 0);
    if (nll < best.nll) best = { probabilities: out, c, nll };
  }
  return { probabilities: best.probabilities, c: best.c };
}

/** Confident learning on out-of-fold probabilities `p` (n × classes) for the given labels. */
export function findLabelIssues(
  p: Float64Array,
  labels: number[],
  classes: number,
  options: { filter?: IssueFilter; rank?: IssueRank } = {},
): Omit<LabelIssueResult, 'probabilities' | 'folds' | 'c'> {
  const n = labels.length;
  const at = (i: number, j: number) => p[i * classes + j];
  const counts = new Array<number>(classes).fill(0);
  const thresholds = new Array<number>(classes).fill(0);
  labels.forEach((l, i) => {
    counts[l]++;
    thresholds[l] += at(i, l);
  });
  for (let j = 0; j < classes; j++) thresholds[j] = counts[j] ? thresholds[j] / counts[j] : 1;
  const joint = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const counted = labels.map((l, i) => {
    let best = -1;
    for (let j = 0; j < classes; j++) if (at(i, j) >= thresholds[j] && (best < 0 || at(i, j) > at(i, best))) best = j;
    if (best >= 0) joint[l][best]++;
    return best;
  });
  const offDiagonal = new Set(labels.flatMap((l, i) => (counted[i] >= 0 && counted[i] !== l ? [i] : [])));
  // Prune by noise rate: Q = C with each row scaled to its label count, then normalised to sum 1; n·Q[i][j]
  // examples labelled i, those with the largest margin p̂_j − p̂_i, are pruned for each j ≠ i.
  const pruned = new Set<number>();
  const rowSums = joint.map((r) => r.reduce((a, b) => a + b, 0));
  const calibrated = joint.map((r, i) => r.map((v) => (rowSums[i] ? (v * counts[i]) / rowSums[i] : 0)));
  const total = calibrated.flat().reduce((a, b) => a + b, 0);
  for (let i = 0; i < classes; i++)
    for (let j = 0; j < classes; j++) {
      if (i === j || !total) continue;
      const k = Math.round((n * calibrated[i][j]) / total);
      if (!k) continue;
      const candidates = labels.flatMap((l, x) => (l === i ? [x] : [])).sort((a, b) => at(b, j) - at(b, i) - (at(a, j) - at(a, i)));
      for (const x of candidates.slice(0, k)) pruned.add(x);
    }
  const filter = options.filter ?? 'both';
  const chosen = [...(filter === 'prune-by-noise-rate' ? pruned : offDiagonal)].filter((i) => filter !== 'both' || pruned.has(i));
  const issues = chosen.map((i) => {
    const l = labels[i];
    let other = l === 0 ? 1 : 0;
    for (let j = 0; j < classes; j++) if (j !== l && at(i, j) > at(i, other)) other = j;
    return {
      index: i,
      given: l,
      suggested: counted[i] >= 0 && counted[i] !== l ? counted[i] : other,
      selfConfidence: at(i, l),
      margin: at(i, l) - at(i, other),
    };
  });
  const key = options.rank === 'normalized-margin' ? (x: LabelIssue) => x.margin : (x: LabelIssue) => x.selfConfidence;
  issues.sort((a, b) => key(a) - key(b));
  return { issues, thresholds, confidentJoint: joint };
}
