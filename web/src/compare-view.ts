// compare's result in the page: Node's compare table (one row per strategy) and each strategy's validation
// accuracy per epoch as a curve (the fine-tune's two phases end to end).
import { type BrowserComparison, rowName } from '../../src/browser/index.js';
import { lineChart } from './chart.js';

const COLOURS = ['#1f77b4', '#d62728'];
const fixed = (v: number | null, digits: number) => (v === null ? '–' : v.toFixed(digits));

function table(c: BrowserComparison): HTMLTableElement {
  const t = document.createElement('table');
  t.id = 'compare-table';
  const head = ['strategy', 'trainable params', 'total params', 'wall s', 's/epoch', 'best val acc', 'final val acc'];
  t.createTHead()
    .insertRow()
    .append(...head.map((h) => Object.assign(document.createElement('th'), { textContent: h })));
  const body = t.createTBody();
  for (const r of c.rows) {
    const cells = [
      rowName(r),
      r.trainableParams,
      r.totalParams,
      fixed(r.wallS, 1),
      fixed(r.secondsPerEpoch, 2),
      fixed(r.bestValAccuracy, 4),
      fixed(r.finalValAccuracy, 4),
    ];
    const row = body.insertRow();
    row.dataset.strategy = r.strategy;
    for (const v of cells) row.insertCell().textContent = String(v);
  }
  return t;
}

/** Validation accuracy per epoch, one polyline per strategy (the fine-tune's phases end to end), a legend above. */
function curves(c: BrowserComparison): SVGSVGElement {
  const runs = Object.entries(c.histories);
  const values = runs.flatMap(([, hs]) => hs.map((e) => e.valAccuracy ?? 1));
  // From the lowest accuracy (rounded down to 0.05) to 1, so close curves stay apart.
  const lo = Math.min(0.95, Math.floor(Math.min(...values) * 20) / 20);
  // The fine-tune's first phase is the feature-extraction run itself (same split, seed and head): the lines
  // coincide there, so the first is dashed on top, and a mark shows where the fine-tune's second phase starts.
  const series = runs.map(([strategy, hs], i) => ({
    data: { strategy },
    legend: `${strategy}: validation accuracy by epoch`,
    colour: COLOURS[i % COLOURS.length],
    values: hs.map((e) => e.valAccuracy),
    dashed: i === 0,
    mark: { at: hs.findIndex((e) => e.phase === 1), text: `${strategy}: phase 2` },
  }));
  return lineChart({ id: 'compare-curves', series, lo, hi: 1, xLabel: 'epoch (both phases of the fine-tune)' });
}

/** Shows the comparison in `into` (replacing what was there). */
export function showComparison(into: HTMLElement, c: BrowserComparison): void {
  into.replaceChildren(table(c), curves(c));
  into.hidden = false;
}
