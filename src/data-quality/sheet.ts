// Self-contained HTML pages of thumbnails (images inlined as PNG data URIs, nothing fetched): the contact sheet
// of the worst losses, the label issues and the duplicate groups.
import { type PixelSource, photoSource } from '../data/batches.js';
import { encodePng } from '../data/inspect.js';
import { esc } from '../report/charts.js';

/** An image file as a PNG data URI at height × width, read by `source` (default: photos and DICOM as RGB); null if unreadable. */
export async function thumbnail(file: string, height = 64, width = height, source: PixelSource = photoSource('none')): Promise<string | null> {
  const pixels = await source.decode(file, height, width).catch(() => null);
  if (!pixels) return null;
  const channels = pixels.length / (height * width);
  const shown = channels === 1 || channels === 3 ? pixels : pixels.filter((_, i) => i % channels === 0);
  return pngUri(shown, height, width, channels === 1 ? 1 : 3);
}

export async function pngUri(data: ArrayLike<number>, height: number, width: number, channels: 1 | 3): Promise<string> {
  return `data:image/png;base64,${(await encodePng({ shape: [height, width, channels], data: Float32Array.from(data) })).toString('base64')}`;
}

/** One figure: its images (data URIs, with a tooltip; unreadable ones left out) and an HTML caption. */
export function figureHtml(images: Array<{ src: string | null; title?: string }>, caption: string): string {
  const imgs = images.filter((i) => i.src !== null).map((i) => `<img src="${i.src}" alt=""${i.title ? ` title="${esc(i.title)}"` : ''}>`);
  return `<figure>${imgs.join('')}<figcaption>${caption}</figcaption></figure>`;
}

/** The page: a title, an introduction (HTML) and sections of figures. */
export function sheetHtml(title: string, intro: string, sections: Array<{ heading?: string; figures: string[] }>, imageWidth = 96): string {
  const body = sections.map((s) => `${s.heading ? `<h2>${s.heading}</h2>\n` : ''}${s.figures.join('\n')}`).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font-family:sans-serif;margin:1em}figure{display:inline-block;margin:6px;vertical-align:top;max-width:${2 * imageWidth + 12}px}
img{width:${imageWidth}px;image-rendering:pixelated;margin-right:4px}figcaption{font-size:12px;word-break:break-all}h2{font-size:15px}</style></head>
<body><h1>${esc(title)}</h1><p>${intro}</p>
${body}</body></html>\n`;
}

/** The label issues as a page: each image with its given and suggested class, most suspicious first. */
export async function labelIssuesHtml(
  issues: Array<{ file: string; givenClass: string; suggestedClass: string; selfConfidence: number }>,
  title: string,
): Promise<string> {
  const figures: string[] = [];
  for (const x of issues)
    figures.push(
      figureHtml(
        [{ src: await thumbnail(x.file) }],
        `<b>${esc(x.givenClass)}</b> → suggested <b>${esc(x.suggestedClass)}</b>, p(given) ${x.selfConfidence.toFixed(3)}<br><code>${esc(x.file)}</code>`,
      ),
    );
  return sheetHtml(title, `${issues.length} image(s) whose given label is unlikely (confident learning), most suspicious first.`, [{ figures }]);
}

/** The duplicate groups as a page: one section per group, leaks first. */
export async function duplicatesHtml(
  groups: Array<{ kind: string; similarity: number; leak: boolean; members: Array<{ file: string; place: string; className: string }> }>,
  title: string,
): Promise<string> {
  const sections: Array<{ heading: string; figures: string[] }> = [];
  for (const [k, g] of groups.entries()) {
    const figures: string[] = [];
    for (const m of g.members)
      figures.push(figureHtml([{ src: await thumbnail(m.file) }], `${esc(m.place)} · ${esc(m.className)}<br><code>${esc(m.file)}</code>`));
    sections.push({
      heading: `Group ${k + 1}: ${g.kind}${g.kind === 'near' ? ` (similarity ≥ ${g.similarity.toFixed(3)})` : ''}${g.leak ? ' — LEAK' : ''}`,
      figures,
    });
  }
  return sheetHtml(title, `${groups.length} group(s) of exact or near duplicates; a leak spans training and validation, or two folders.`, sections);
}
