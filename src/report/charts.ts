import path from 'node:path';
import sharp from 'sharp';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';

export interface BarSeries {
  name: string;
  values: number[];
  color: string;
}

export interface StackedBarChart {
  title: string;
  /** One bar per category. */
  categories: string[];
  /** Stacked bottom to top. */
  series: BarSeries[];
  yLabel: string;
  /** Axis and label text for a value. */
  format(value: number): string;
}

/** Text made safe for SVG and HTML. */
export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A round axis maximum: 1, 2, 2.5 or 5 × 10^k at or above `max`. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((v) => v >= max) as number;
}

interface Frame {
  W: number;
  H: number;
  m: { top: number; right: number; bottom: number; left: number };
  title: string;
  yLabel: string;
  yMax: number;
  format(v: number): string;
}

/** The parts every chart shares: the SVG element, background, title, y grid with labels and the y-axis label. */
function frame(f: Frame): { parts: string[]; y: (v: number) => number; plotW: number; plotH: number } {
  const plotW = f.W - f.m.left - f.m.right;
  const plotH = f.H - f.m.top - f.m.bottom;
  const y = (v: number) => f.m.top + plotH - (v / f.yMax) * plotH;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.W}" height="${f.H}" viewBox="0 0 ${f.W} ${f.H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${f.W}" height="${f.H}" fill="white"/>`,
    `<text x="${f.W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(f.title)}</text>`,
  ];
  for (let k = 0; k <= 5; k++) {
    const v = (f.yMax * k) / 5;
    parts.push(`<line x1="${f.m.left}" x2="${f.W - f.m.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${f.m.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${esc(f.format(v))}</text>`);
  }
  parts.push(`<text transform="translate(16 ${f.m.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(f.yLabel)}</text>`);
  return { parts, y, plotW, plotH };
}

/** A stacked bar chart as a standalone SVG document. */
export function stackedBarSvg(chart: StackedBarChart): string {
  const m = { top: 48, right: 20, bottom: 70, left: 90 };
  const H = 400;
  const totals = chart.categories.map((_, i) => chart.series.reduce((s, ser) => s + ser.values[i], 0));
  const { parts, y, plotW, plotH } = frame({
    W: 640,
    H,
    m,
    title: chart.title,
    yLabel: chart.yLabel,
    yMax: niceMax(Math.max(...totals)),
    format: chart.format,
  });
  const slot = plotW / chart.categories.length;
  const barW = Math.min(90, slot * 0.6);
  chart.categories.forEach((cat, i) => {
    const x = m.left + slot * i + (slot - barW) / 2;
    let base = 0;
    for (const ser of chart.series) {
      const v = ser.values[i];
      if (v > 0) {
        parts.push(
          `<rect x="${x}" y="${y(base + v)}" width="${barW}" height="${y(base) - y(base + v)}" fill="${ser.color}"><title>${esc(`${ser.name}: ${chart.format(v)}`)}</title></rect>`,
        );
      }
      base += v;
    }
    parts.push(`<text x="${x + barW / 2}" y="${y(base) - 5}" text-anchor="middle" font-size="11">${esc(chart.format(base))}</text>`);
    parts.push(`<text x="${x + barW / 2}" y="${m.top + plotH + 18}" text-anchor="middle" font-size="12">${esc(cat)}</text>`);
  });
  chart.series.forEach((ser, i) => {
    const lx = m.left + i * 170;
    const ly = H - 22;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${ser.color}"/>`);
    parts.push(`<text x="${lx + 18}" y="${ly}" font-size="12">${esc(ser.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Writes an SVG document as .svg, or rendered to .png, chosen by the file's extension. */
export async function writeChart(file: string, svg: string): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.svg') return writeFileAtomic(file, svg);
  if (ext === '.png') return writeFileAtomic(file, await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer());
  throw new UsageError(`chart file ${file}: the extension must be .svg or .png`);
}

export interface LineChart {
  title: string;
  /** x values are 1…n. */
  series: Array<{ name: string; values: Array<number | null>; color: string }>;
  xLabel: string;
  yLabel: string;
}

/** A line chart (e.g. loss and validation loss per epoch) as a standalone SVG document. */
export function lineChartSvg(chart: LineChart): string {
  const m = { top: 44, right: 20, bottom: 70, left: 70 };
  const H = 360;
  const all = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const n = Math.max(1, ...chart.series.map((s) => s.values.length));
  const { parts, y, plotW, plotH } = frame({
    W: 640,
    H,
    m,
    title: chart.title,
    yLabel: chart.yLabel,
    yMax: niceMax(Math.max(...all, 0)),
    format: (v) => String(+v.toFixed(3)),
  });
  const x = (i: number) => m.left + (n === 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  // About a dozen labels at most: automatic phases can run to hundreds of epochs.
  const every = Math.max(1, Math.ceil(n / 12));
  for (let i = 0; i < n; i++)
    if (i % every === 0 || i === n - 1) parts.push(`<text x="${x(i)}" y="${m.top + plotH + 16}" text-anchor="middle" font-size="11">${i + 1}</text>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${m.top + plotH + 34}" text-anchor="middle" font-size="12">${esc(chart.xLabel)}</text>`);
  chart.series.forEach((s, si) => {
    const pts = s.values.map((v, i) => (v === null || !Number.isFinite(v) ? null : `${x(i)},${y(v)}`)).filter((p) => p !== null);
    if (pts.length) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(' ')}"><title>${esc(s.name)}</title></polyline>`);
    const lx = m.left + si * 160;
    parts.push(
      `<rect x="${lx}" y="${H - 22}" width="12" height="4" fill="${s.color}"/><text x="${lx + 18}" y="${H - 16}" font-size="12">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
