import { esc } from './charts.js';
import { type StrategyResult, rowName } from '../train/strategy/compare.js';
import { formatCount } from '../util/format.js';

/** A self-contained HTML page: the comparison table and its charts (inline SVG), nothing fetched. */
export function compareReportHtml(title: string, rows: StrategyResult[], charts: Record<string, string>): string {
  const cells = rows
    .map(
      (r) =>
        `<tr><td>${esc(rowName(r))}</td><td>${formatCount(r.totalParams)}</td><td>${formatCount(r.trainableParams)}</td><td>${formatCount(r.nonTrainableParams)}</td><td>${r.wallS.toFixed(1)} s</td><td>${r.secondsPerEpoch === null ? '-' : `${r.secondsPerEpoch.toFixed(2)} s`}</td><td>${r.bestValAccuracy === null ? '-' : `${(r.bestValAccuracy * 100).toFixed(1)}%`}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}: training strategies</title>
<style>body{font-family:DejaVu Sans,Arial,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:1em}</style>
</head><body>
<h1>${esc(title)}: full training, feature extraction and fine-tuning</h1>
<table><tr><th>Strategy</th><th>Total params</th><th>Trainable</th><th>Non-trainable</th><th>Wall time</th><th>Time per epoch</th><th>Best validation accuracy</th></tr>
${cells}
</table>
<div class="charts">${Object.values(charts).join('\n')}</div>
<p>Made by transferkit. Frozen parts are computed once per image and cached; the trained part runs in ONNX Runtime.</p>
</body></html>
`;
}
