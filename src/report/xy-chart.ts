// Curves on numeric axes (linear or log x): the learning-rate range test, ROC and precision-recall curves.
import { esc } from './charts.js';

export interface XYChart {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  /** Axis ranges (default: the data's). */
  x?: [number, number];
  y?: [number, number];
  series: Array<{ name: string; points: Array<[number, number]>; color: string; dashed?: boolean }>;
  /** Points called out with a dot, a guide line and a label. */
  marks?: Array<{ x: number; y: number; label: string; color: string }>;
}

const fmt = (v: number) => (v === 0 || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4) ? String(+v.toPrecision(3)) : v.toExponential(0));

export function xyChartSvg(c: XYChart): string {
  const [W, H] = [640, 400];
  const m = { top: 44, right: 24, bottom: 76, left: 70 };
  const [pw, ph] = [W - m.left - m.right, H - m.top - m.bottom];
  const all = c.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!c.logX || x > 0));
  const tx = (x: number) => (c.logX ? Math.log10(x) : x);
  const [x0, x1] = c.x ? c.x.map(tx) : [Math.min(...all.map((p) => tx(p[0]))), Math.max(...all.map((p) => tx(p[0])))];
  const [y0, y1] = c.y ?? [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const sx = (x: number) => m.left + ((tx(x) - x0) / (x1 - x0 || 1)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0 || 1)) * ph;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(c.title)}</text>`,
  ];
  for (let k = 0; k <= 5; k++) {
    const v = y0 + ((y1 - y0) * k) / 5;
    parts.push(
      `<line x1="${m.left}" x2="${W - m.right}" y1="${sy(v)}" y2="${sy(v)}" stroke="#ddd"/><text x="${m.left - 6}" y="${sy(v) + 4}" text-anchor="end" font-size="11">${fmt(v)}</text>`,
    );
  }
  // x ticks: each power of ten on a log axis, fifths on a linear one.
  const ticks = c.logX
    ? Array.from({ length: Math.floor(x1) - Math.ceil(x0) + 1 }, (_, i) => 10 ** (Math.ceil(x0) + i))
    : Array.from({ length: 6 }, (_, k) => x0 + ((x1 - x0) * k) / 5);
  for (const v of ticks)
    parts.push(
      `<line x1="${sx(v)}" x2="${sx(v)}" y1="${m.top}" y2="${m.top + ph}" stroke="#eee"/><text x="${sx(v)}" y="${m.top + ph + 16}" text-anchor="middle" font-size="11">${fmt(v)}</text>`,
    );
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${m.top + ph + 36}" text-anchor="middle" font-size="12">${esc(c.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(c.yLabel)}</text>`);
  c.series.forEach((s, i) => {
    const pts = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!c.logX || x > 0))
      .map(([x, y]) => `${sx(x).toFixed(1)},${sy(Math.min(y1, Math.max(y0, y))).toFixed(1)}`);
    if (pts.length)
      parts.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''} points="${pts.join(' ')}"><title>${esc(s.name)}</title></polyline>`,
      );
    const lx = m.left + i * 200;
    parts.push(
      `<rect x="${lx}" y="${H - 22}" width="12" height="4" fill="${s.color}"/><text x="${lx + 18}" y="${H - 16}" font-size="12">${esc(s.name)}</text>`,
    );
  });
  for (const k of c.marks ?? []) {
    parts.push(`<line x1="${sx(k.x)}" x2="${sx(k.x)}" y1="${m.top}" y2="${m.top + ph}" stroke="${k.color}" stroke-dasharray="3 3"/>`);
    parts.push(
      `<circle cx="${sx(k.x)}" cy="${sy(k.y)}" r="5" fill="${k.color}"/><text x="${sx(k.x) + (sx(k.x) > m.left + 0.7 * pw ? -8 : 8)}" y="${sy(k.y) - 8}" text-anchor="${sx(k.x) > m.left + 0.7 * pw ? 'end' : 'start'}" font-size="12" fill="${k.color}">${esc(k.label)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}
