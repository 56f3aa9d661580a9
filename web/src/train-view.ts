// What the page shows while and after it trains: the progress bars, the loss and validation curves growing one
// point per epoch, the validation split's confusion matrix and per-class scores, and the tried images' answers.
import type { ClassificationReport, ImageAnswer } from '../../src/browser/index.js';
import { lineChart } from './chart.js';

/** One epoch as the worker reports it (the phases end to end). */
export interface EpochPoint {
  phase: number;
  loss: number;
  valLoss: number | null;
  valAccuracy: number | null;
}

const $ = (id: string) => document.getElementById(id) as HTMLElement;

/** Sets the progress bar `#id` to done of total, with its label. */
export function showProgress(id: 'features-progress' | 'epoch-progress', done: number, total: number, text: string): void {
  const bar = $(id) as HTMLProgressElement;
  bar.max = total;
  bar.value = done;
  ($(`${id}-text`) as HTMLElement).textContent = text;
}

/** Loss, validation loss and validation accuracy per epoch, on one axis from 0 (to the largest loss, at least 1). */
export function showCurves(points: EpochPoint[]): void {
  const hi = Math.max(1, ...points.flatMap((p) => [p.loss, p.valLoss ?? 0]));
  const second = points.findIndex((p) => p.phase === 1);
  const series = [
    { key: 'loss', legend: 'loss', colour: '#1f77b4', values: points.map((p) => p.loss) },
    { key: 'valLoss', legend: 'validation loss', colour: '#ff7f0e', values: points.map((p) => p.valLoss) },
    { key: 'valAccuracy', legend: 'validation accuracy', colour: '#2ca02c', values: points.map((p) => p.valAccuracy) },
  ].map(({ key, ...s }, i) => ({ ...s, data: { series: key }, ...(i === 0 && second > 0 ? { mark: { at: second, text: 'phase 2 (fine-tune)' } } : {}) }));
  $('train-curves').replaceChildren(lineChart({ id: 'train-curves-svg', series, lo: 0, hi: Math.ceil(hi * 10) / 10, xLabel: 'epoch (all phases)' }));
}

/** A table from a header row and body rows (the first cell of each row a header). */
function table(id: string, head: string[], rows: Array<Array<string | number>>): HTMLTableElement {
  const t = document.createElement('table');
  t.id = id;
  t.createTHead()
    .insertRow()
    .append(...head.map((h) => Object.assign(document.createElement('th'), { textContent: h })));
  const body = t.createTBody();
  for (const r of rows) {
    const row = body.insertRow();
    row.append(Object.assign(document.createElement('th'), { textContent: String(r[0]) }));
    for (const v of r.slice(1)) row.insertCell().textContent = String(v);
  }
  return t;
}

/** The validation split's confusion matrix (rows: true class, columns: predicted) and per-class scores. */
export function showReport(classNames: string[], report: ClassificationReport): void {
  const matrix = table(
    'confusion',
    ['true \\ predicted', ...classNames],
    report.confusionMatrix.map((row, i) => [classNames[i], ...row]),
  );
  const f = (v: number) => v.toFixed(4);
  const scores = table(
    'class-metrics',
    ['class', 'precision', 'recall', 'F1', 'support'],
    [
      ...report.perClass.map((c) => [c.className, f(c.precision), f(c.recall), f(c.f1), c.support]),
      ['macro average', f(report.macro.precision), f(report.macro.recall), f(report.macro.f1), report.perClass.reduce((n, c) => n + c.support, 0)],
    ],
  );
  $('report').replaceChildren(matrix, scores);
  $('report').hidden = false;
}

/** The tried images' answers: name, label and its probability. */
export function showAnswers(answers: Array<{ name: string } & ImageAnswer>): void {
  $('try-results').replaceChildren(
    table(
      'try-table',
      ['image', 'label', 'probability'],
      answers.map((a) => [a.name, a.label, a.probability.toFixed(4)]),
    ),
  );
}
