// The reliability diagram: accuracy against confidence per bin (Guo et al., 2017); a calibrated model lies on
// the diagonal. Before and after temperature scaling, on one chart.
import type { ReliabilityBin } from '../train/evaluate/calibration.js';
import { xyChartSvg } from './xy-chart.js';

const COLORS = ['#d62728', '#1f77b4', '#2ca02c'];

export function reliabilitySvg(curves: Array<{ name: string; ece: number; bins: ReliabilityBin[] }>, what: string): string {
  return xyChartSvg({
    title: `Reliability: ${what}`,
    xLabel: 'confidence (top-class probability, 15 bins)',
    yLabel: 'accuracy',
    x: [0, 1],
    y: [0, 1],
    series: [
      {
        name: 'perfectly calibrated',
        points: [
          [0, 0],
          [1, 1],
        ],
        color: '#999',
        dashed: true,
      },
      ...curves.map((c, i) => ({
        name: `${c.name} (ECE ${(c.ece * 100).toFixed(1)}%)`,
        points: c.bins.filter((b) => b.count > 0).map((b) => [b.confidence as number, b.accuracy as number] as [number, number]),
        color: COLORS[i % COLORS.length],
      })),
    ],
  });
}
