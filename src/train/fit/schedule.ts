// Learning-rate schedules over a phase's steps. The step graph takes the rate as an input, so a schedule is just
// the number fed at each step.
export type ScheduleName = 'constant' | 'cosine' | 'one-cycle';

export const SCHEDULES: readonly ScheduleName[] = ['constant', 'cosine', 'one-cycle'];

export interface ScheduleSpec {
  name: ScheduleName;
  /** The peak rate. */
  lr: number;
  /** Steps in the phase (cosine and one-cycle anneal over them; ignored by constant). */
  totalSteps: number;
  /** Linear warm-up steps (one-cycle default: a quarter of the steps, fastai's pct_start). */
  warmupSteps?: number;
}

const cosine = (from: number, to: number, t: number) => to + ((from - to) * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, t))))) / 2;

/**
 * The rate for step `step` (0-based). one-cycle is fastai's fit_one_cycle: from lr/25 up to lr over the warm-up
 * by a cosine, then down to lr/25/10⁴ by a cosine; cosine anneals from lr to 0 after a linear warm-up from 0.
 */
export function learningRateAt(s: ScheduleSpec, step: number): number {
  const total = Math.max(1, s.totalSteps);
  if (s.name === 'one-cycle') {
    const warm = Math.max(1, Math.round(s.warmupSteps ?? total * 0.25));
    const start = s.lr / 25;
    if (step < warm) return cosine(start, s.lr, step / warm);
    return cosine(s.lr, start / 1e4, (step - warm) / Math.max(1, total - warm));
  }
  const warm = s.warmupSteps ?? 0;
  if (step < warm) return (s.lr * (step + 1)) / (warm + 1);
  if (s.name === 'constant') return s.lr;
  return cosine(s.lr, 0, (step - warm) / Math.max(1, total - warm));
}
