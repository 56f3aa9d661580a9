// The learning-rate range test (Smith 2015; fastai's lr_find): train from the phase's starting weights while the
// rate grows exponentially, record the smoothed loss, and suggest a rate below where the loss is lowest.
import type { Trainer } from '../../engine/training.js';
import type { Batch } from '../features/cache.js';
import { targets } from '../evaluate/metrics.js';
import type { Task } from './options.js';

export interface RangeTest {
  /** The rate and the smoothed training loss at each step. */
  points: Array<{ lr: number; loss: number }>;
  /** The suggestion: the rate of the lowest smoothed loss ÷ 10. */
  suggested: number;
  /** Where the smoothed loss falls fastest against log(rate). */
  steepest: number;
  minimum: number;
}

export interface RangeTestOptions {
  startLr?: number;
  endLr?: number;
  steps?: number;
}

/**
 * Sweeps the rate from `startLr` to `endLr` over `steps` steps (default 1e-7 → 10 over 200), cycling through
 * epochs of `batches()`, and stops early once the loss passes 4× its minimum. The trainer's weights are put back.
 */
export async function rangeTest(
  trainer: Trainer,
  batches: () => AsyncGenerator<Batch>,
  task: Task,
  classes: number,
  o: RangeTestOptions = {},
): Promise<RangeTest> {
  const [start, end, steps] = [o.startLr ?? 1e-7, o.endLr ?? 10, o.steps ?? 200];
  const initial = trainer.snapshot();
  const points: RangeTest['points'] = [];
  let avg = 0;
  let best = Infinity;
  let step = 0;
  // One step at a time, never in a trainer's groups (`stepsPerRun`): after each loss the sweep decides whether to
  // take the next step at all.
  sweep: while (step < steps) {
    let any = false;
    for await (const { x, labels } of batches()) {
      any = true;
      const lr = start * (end / start) ** (step / Math.max(1, steps - 1));
      const r = await trainer.step(x, targets(labels, task, classes), labels.length, lr);
      step++;
      if (!Number.isFinite(r.loss)) break sweep;
      // fastai's smoothing: an exponential moving average with bias correction.
      avg = 0.98 * avg + 0.02 * r.loss;
      const smooth = avg / (1 - 0.98 ** step);
      points.push({ lr, loss: smooth });
      best = Math.min(best, smooth);
      if (step > 10 && smooth > 4 * best) break sweep;
      if (step >= steps) break sweep;
    }
    if (!any) break;
  }
  trainer.restore(initial);
  return { points, ...suggest(points) };
}

/** The two usual readings of the curve (the first and last few points are too noisy to use). */
export function suggest(points: RangeTest['points']): { suggested: number; steepest: number; minimum: number } {
  const usable = points.slice(Math.min(10, Math.floor(points.length / 10)));
  if (usable.length < 3) return { suggested: points[0]?.lr ?? 1e-3, steepest: points[0]?.lr ?? 1e-3, minimum: points[0]?.lr ?? 1e-3 };
  const min = usable.reduce((a, b) => (b.loss < a.loss ? b : a));
  // The slope over a window of points (a twentieth of the sweep), so single noisy steps do not win.
  const k = Math.max(1, Math.floor(usable.length / 20));
  let steepest = usable[0];
  let slope = Infinity;
  for (let i = k; i < usable.length && usable[i].lr <= min.lr; i++) {
    const s = (usable[i].loss - usable[i - k].loss) / Math.log(usable[i].lr / usable[i - k].lr);
    if (s < slope) {
      slope = s;
      steepest = usable[i];
    }
  }
  return { suggested: min.lr / 10, steepest: steepest.lr, minimum: min.lr };
}

/** The notice saying which rate the range test picked for phase `index` (0-based). */
export const autoRateNotice = (found: RangeTest, index: number): string =>
  `learning rate auto: the range test suggests ${found.suggested.toPrecision(2)} for phase ${index + 1} (lowest loss at ${found.minimum.toPrecision(2)}, steepest fall at ${found.steepest.toPrecision(2)})`;
