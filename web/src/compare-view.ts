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

/** Validation accuracy per epoch, one polyline per strategy (the fine-tune's phases end to end), a legend above. */
function curves(c: BrowserComparison): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const [w, h, top, left] = [560, 240, 44, 40];
  const el = (name: string, attrs: Record<string, string>, text?: string) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const svg = el('svg', { id: 'compare-curves', viewBox: `0 0 ${w} ${h}`, width: String(w), 'font-size': '12' }) as SVGSVGElement;
  const runs = Object.entries(c.histories);
  const values = runs.flatMap(([, hs]) => hs.map((e) => e.valAccuracy ?? 1));
  // From the lowest accuracy (rounded down to 0.05) to 1, so close curves stay apart.
  const lo = Math.min(0.95, Math.floor(Math.min(...values) * 20) / 20);
  const most = Math.max(2, ...runs.map(([, hs]) => hs.length));
  const x = (k: number) => left + (k * (w - left - 10)) / (most - 1);
  const y = (a: number | null) => h - 20 - (((a ?? lo) - lo) / (1 - lo)) * (h - top - 20);
  svg.append(
    el('line', { x1: String(left), y1: String(y(1)), x2: String(left), y2: String(y(lo)), stroke: '#999' }),
    el('text', { x: '2', y: String(y(1) + 4) }, '1.00'),
    el('text', { x: '2', y: String(y(lo) + 4) }, lo.toFixed(2)),
    el('text', { x: String(left), y: String(h - 4) }, 'epoch (both phases of the fine-tune)'),
  );
  // The fine-tune's first phase is the feature-extraction run itself (same split, seed and head): the lines
  // coincide there, so the first is dashed on top, and a mark shows where the fine-tune's second phase starts.
  for (const [i, [strategy, hs]] of [...runs.entries()].reverse()) {
    const colour = COLOURS[i % COLOURS.length];
    const points = hs.map((e, k) => `${x(k).toFixed(1)},${y(e.valAccuracy).toFixed(1)}`).join(' ');
    const line = el('polyline', { points, fill: 'none', stroke: colour, 'stroke-width': '2', ...(i === 0 ? { 'stroke-dasharray': '6 4' } : {}) });
    line.dataset.strategy = strategy;
    const second = hs.findIndex((e) => e.phase === 1);
    if (second > 0)
      svg.append(
        el('line', { x1: String(x(second)), y1: String(y(1)), x2: String(x(second)), y2: String(y(lo)), stroke: colour, 'stroke-dasharray': '2 3' }),
        el('text', { x: String(x(second) + 4), y: String(y(lo) - 4), fill: colour }, `${strategy}: phase 2`),
      );
    svg.append(line, el('text', { x: String(left), y: String(14 + i * 15), fill: colour }, `${strategy}: validation accuracy by epoch`));
  }
  return svg;
}

/** Shows the comparison in `into` (replacing what was there). */
export function showComparison(into: HTMLElement, c: BrowserComparison): void {
  into.replaceChildren(table(c), curves(c));
  into.hidden = false;
}
