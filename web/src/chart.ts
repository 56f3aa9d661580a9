// The page's line charts (compare's curves, training's live curves): series of values per epoch on one axis, a
// legend above, and dotted marks where a phase starts.
const NS = 'http://www.w3.org/2000/svg';

/** An SVG element with its attributes (and text). */
export function svgEl(name: string, attrs: Record<string, string>, text?: string): SVGElement {
  const e = document.createElementNS(NS, name) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface Series {
  /** Its polyline's data- attributes (what a test finds it by). */
  data: Record<string, string>;
  legend: string;
  colour: string;
  /** One value per epoch (null: drawn at the axis's bottom). */
  values: Array<number | null>;
  dashed?: boolean;
  /** Where a new phase starts (an index into values), marked with a dotted line and `mark`'s text. */
  mark?: { at: number; text: string };
}

/** The series on an axis from `lo` to `hi`; the first series is drawn last, on top of the others. */
export function lineChart(o: { id: string; series: Series[]; lo: number; hi: number; xLabel: string }): SVGSVGElement {
  const [w, h, left] = [560, 240, 40];
  const top = 14 + 15 * o.series.length;
  const { lo, hi } = o;
  const svg = svgEl('svg', { id: o.id, viewBox: `0 0 ${w} ${h}`, width: String(w), 'font-size': '12' }) as SVGSVGElement;
  const most = Math.max(2, ...o.series.map((s) => s.values.length));
  const x = (k: number) => left + (k * (w - left - 10)) / (most - 1);
  const y = (a: number | null) => h - 20 - (((a ?? lo) - lo) / (hi - lo || 1)) * (h - top - 20);
  svg.append(
    svgEl('line', { x1: String(left), y1: String(y(hi)), x2: String(left), y2: String(y(lo)), stroke: '#999' }),
    svgEl('text', { x: '2', y: String(y(hi) + 4) }, hi.toFixed(2)),
    svgEl('text', { x: '2', y: String(y(lo) + 4) }, lo.toFixed(2)),
    svgEl('text', { x: String(left), y: String(h - 4) }, o.xLabel),
  );
  for (const [i, s] of [...o.series.entries()].reverse()) {
    const points = s.values.map((v, k) => `${x(k).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const line = svgEl('polyline', { points, fill: 'none', stroke: s.colour, 'stroke-width': '2', ...(s.dashed ? { 'stroke-dasharray': '6 4' } : {}) });
    Object.assign(line.dataset, s.data);
    if (s.mark && s.mark.at > 0) {
      const at = String(x(s.mark.at));
      svg.append(
        svgEl('line', { x1: at, y1: String(y(hi)), x2: at, y2: String(y(lo)), stroke: s.colour, 'stroke-dasharray': '2 3' }),
        svgEl('text', { x: String(x(s.mark.at) + 4), y: String(y(lo) - 4), fill: s.colour }, s.mark.text),
      );
    }
    svg.append(line, svgEl('text', { x: String(left), y: String(14 + i * 15), fill: s.colour }, s.legend));
  }
  return svg;
}
