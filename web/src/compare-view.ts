// compare's result in the page: Node's compare table (one row per strategy) and each strategy's validation
// accuracy per epoch as a curve (the fine-tune's two phases end to end).
import { type BrowserComparison, rowName } from '../../src/browser/index.js';

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

/** Validation accuracy per epoch, one polyline per strategy, on a 0.5–1 scale. */
function curves(c: BrowserComparison): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const [w, h] = [560, 220];
  const svg = document.createElementNS(ns, 'svg');
  svg.id = 'compare-curves';
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', String(w));
  const runs = Object.entries(c.histories);
  const most = Math.max(2, ...runs.map(([, hs]) => hs.length));
  for (const [i, [strategy, hs]] of runs.entries()) {
    const line = document.createElementNS(ns, 'polyline');
    const y = (a: number | null) => h - 10 - (Math.max(0.5, a ?? 0.5) - 0.5) * 2 * (h - 30);
    line.setAttribute('points', hs.map((e, k) => `${(10 + (k * (w - 20)) / (most - 1)).toFixed(1)},${y(e.valAccuracy).toFixed(1)}`).join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', COLOURS[i % COLOURS.length]);
    line.dataset.strategy = strategy;
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', String(10 + i * 200));
    label.setAttribute('y', '14');
    label.setAttribute('fill', COLOURS[i % COLOURS.length]);
    label.textContent = `${strategy}: validation accuracy by epoch`;
    svg.append(line, label);
  }
  return svg;
}

/** Shows the comparison in `into` (replacing what was there). */
export function showComparison(into: HTMLElement, c: BrowserComparison): void {
  into.replaceChildren(table(c), curves(c));
  into.hidden = false;
}
