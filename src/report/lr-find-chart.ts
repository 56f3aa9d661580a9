import type { RangeTest } from '../train/fit/lr-find.js';
import { xyChartSvg } from './xy-chart.js';

/** The range test's smoothed loss against the rate (log axis), with the suggestion and the minimum marked. */
export function lrFindSvg(r: RangeTest, title: string): string {
  const at = (lr: number) => r.points.reduce((a, b) => (Math.abs(Math.log(b.lr / lr)) < Math.abs(Math.log(a.lr / lr)) ? b : a)).loss;
  const losses = r.points.map((p) => p.loss);
  // Clip the blow-up at the end so the useful part of the curve keeps its height.
  const top = Math.min(Math.max(...losses), 2 * losses[0], 4 * Math.min(...losses));
  return xyChartSvg({
    title,
    xLabel: 'learning rate (log scale)',
    yLabel: 'training loss (smoothed)',
    logX: true,
    y: [Math.min(...losses) * 0.95, top],
    series: [{ name: 'loss', points: r.points.map((p) => [p.lr, p.loss]), color: '#3b75af' }],
    marks: [
      { x: r.minimum, y: at(r.minimum), label: `lowest loss ${r.minimum.toPrecision(2)}`, color: '#888' },
      { x: r.suggested, y: at(r.suggested), label: `suggested ${r.suggested.toPrecision(2)}`, color: '#d7301f' },
    ],
  });
}
