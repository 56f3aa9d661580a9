// The confusion matrix as a picture: rows true classes, columns predictions, cells shaded by the share of
// their row (so a small class reads as clearly as a large one), with counts written in.
import { esc } from './charts.js';

/** The confusion matrix (rows true, columns predicted) as an SVG heat map with counts. */
export function confusionMatrixSvg(classNames: string[], matrix: number[][], title = 'Confusion matrix'): string {
  const n = classNames.length;
  const cell = Math.max(28, Math.min(64, Math.floor(560 / Math.max(1, n))));
  const label = Math.min(160, 12 + 7 * Math.max(...classNames.map((c) => c.length)));
  const [left, top] = [label + 30, 60];
  const W = Math.max(left + n * cell + 20, title.length * 9 + 40);
  const H = top + n * cell + label + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="${left + (n * cell) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">predicted class</text>`,
    `<text transform="translate(16 ${top + (n * cell) / 2}) rotate(-90)" text-anchor="middle" font-size="12">true class</text>`,
  ];
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, j) => {
      const share = count / total;
      // Shaded from white by share: the diagonal (right answers) in blue, the rest in orange so mistakes stand out.
      const [r, g, b] = i === j ? [59, 117, 175] : [224, 130, 20];
      const mix = (c: number) => Math.round(255 - (255 - c) * share);
      const x = left + j * cell;
      const y = top + i * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${mix(r)},${mix(g)},${mix(b)})" stroke="#ccc"/>`);
      parts.push(
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="${cell < 36 ? 9 : 12}" fill="${share > 0.6 ? 'white' : 'black'}">${count}</text>`,
      );
    });
    parts.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${esc(classNames[i])}</text>`);
  });
  classNames.forEach((c, j) => {
    const x = left + j * cell + cell / 2;
    parts.push(`<text transform="translate(${x + 4} ${top + n * cell + 8}) rotate(90)" font-size="11">${esc(c)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
