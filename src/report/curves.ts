// ROC and precision-recall curves of a two-class evaluation, with the operating point at the model's threshold.
import { xyChartSvg } from './xy-chart.js';

type Point = { threshold: number; tpr: number; fpr: number; precision: number };
type Binary = { rocAuc: number; prAuc: number; threshold: number; sensitivity: number; specificity: number };

/** The curve's point nearest the threshold from above (the one the decision uses). */
const atThreshold = (points: Point[], t: number) => points.filter((p) => p.threshold >= t).at(-1) ?? points[0];

export function rocSvg(points: Point[], b: Binary, what: string): string {
  const op = atThreshold(points, b.threshold);
  return xyChartSvg({
    title: `ROC curve: ${what} (AUC ${b.rocAuc.toFixed(3)})`,
    xLabel: 'false positive rate (1 − specificity)',
    yLabel: 'true positive rate (sensitivity)',
    x: [0, 1],
    y: [0, 1],
    series: [
      { name: 'ROC', points: [[0, 0], ...points.map((p) => [p.fpr, p.tpr] as [number, number])], color: '#3b75af' },
      {
        name: 'chance',
        points: [
          [0, 0],
          [1, 1],
        ],
        color: '#aaa',
        dashed: true,
      },
    ],
    marks: [{ x: op.fpr, y: op.tpr, label: `threshold ${b.threshold.toFixed(2)}`, color: '#d7301f' }],
  });
}

export function prSvg(points: Point[], b: Binary, what: string): string {
  const op = atThreshold(points, b.threshold);
  return xyChartSvg({
    title: `Precision-recall: ${what} (AP ${b.prAuc.toFixed(3)})`,
    xLabel: 'recall (sensitivity)',
    yLabel: 'precision',
    x: [0, 1],
    y: [0, 1],
    series: [{ name: 'precision-recall', points: points.map((p) => [p.tpr, p.precision] as [number, number]), color: '#3b75af' }],
    marks: [{ x: op.tpr, y: op.precision, label: `threshold ${b.threshold.toFixed(2)}`, color: '#d7301f' }],
  });
}
