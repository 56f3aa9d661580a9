// fastai's plot_top_losses and most_confused, with the file names: every image's loss, given and predicted class
// and probabilities, sorted by loss; the pairs of classes confused most; and a contact sheet of the worst images.
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LabelledFile, SkippedFile } from '../data/folders.js';
import { encodePng } from '../data/inspect.js';
import { csvField } from '../data/exclusions.js';
import type { EngineName } from '../engine/predictor.js';
import { esc } from '../report/charts.js';
import { explainImage } from '../report/explain.js';
import { scoreFiles } from '../train/predict.js';
import { type ModelMetadata, sourceOf } from '../train/saved-model.js';

export interface InspectRow {
  file: string;
  trueClass: string;
  predictedClass: string;
  /** The predicted class's probability, and the given (true) class's. */
  probability: number;
  trueProbability: number;
  /** Cross-entropy: −ln p(given class). */
  loss: number;
}

export interface Inspection {
  /** Every image, highest loss first. */
  rows: InspectRow[];
  /** Off-diagonal confusion counts, most frequent first. */
  confused: Array<{ trueClass: string; predictedClass: string; count: number }>;
  skipped: SkippedFile[];
}

export async function inspectFiles(
  model: tfl.LayersModel,
  meta: ModelMetadata,
  files: LabelledFile[],
  classNames: string[],
  options: { engine?: EngineName; onnxBase?: Uint8Array } = {},
): Promise<Inspection> {
  const { scored, skipped } = await scoreFiles(
    model,
    meta,
    files.map((f) => f.file),
    options,
  );
  const given = new Map(files.map((f) => [f.file, f.label]));
  const pairs = new Map<string, number>();
  const rows = scored.map((s) => {
    const label = given.get(s.file) as number;
    const predicted = s.label as number;
    if (predicted !== label) pairs.set(`${label},${predicted}`, (pairs.get(`${label},${predicted}`) ?? 0) + 1);
    const trueProbability = s.probabilities[label];
    return {
      file: s.file,
      trueClass: classNames[label],
      predictedClass: classNames[predicted],
      probability: s.probabilities[predicted],
      trueProbability,
      loss: -Math.log(Math.max(trueProbability, 1e-7)),
    };
  });
  rows.sort((a, b) => b.loss - a.loss);
  const confused = [...pairs.entries()]
    .map(([k, count]) => {
      const [t, p] = k.split(',').map(Number);
      return { trueClass: classNames[t], predictedClass: classNames[p], count };
    })
    .sort((a, b) => b.count - a.count);
  return { rows, confused, skipped };
}

/** Every row as CSV: file,true_class,predicted_class,probability,true_probability,loss. */
export function inspectionCsv(rows: InspectRow[]): string {
  const lines = rows.map((r) => [r.file, r.trueClass, r.predictedClass, r.probability, r.trueProbability, r.loss].map(csvField).join(','));
  return `file,true_class,predicted_class,probability,true_probability,loss\n${lines.join('\n')}\n`;
}

/**
 * The top rows as a self-contained HTML contact sheet: each image as the model sees it, its Grad-CAM for the
 * predicted class beside it (when the model has gradients to follow: a k-NN vote has none), file name, classes,
 * probability and loss.
 */
export async function contactSheetHtml(
  model: tfl.LayersModel,
  meta: ModelMetadata,
  rows: InspectRow[],
  title: string,
  gradcam = true,
): Promise<{ html: string; gradcamNote?: string }> {
  const [height, width, channels] = meta.inputShape;
  const source = sourceOf(meta);
  const uri = async (data: Float32Array | Buffer, c: number) =>
    `data:image/png;base64,${(await encodePng({ shape: [height, width, c], data: Float32Array.from(data) })).toString('base64')}`;
  let note: string | undefined;
  const cells: string[] = [];
  for (const r of rows) {
    const pixels = await source.decode(r.file, height, width).catch(() => null);
    const shown = pixels && (channels === 3 || channels === 1 ? pixels : pixels.filter((_, i) => i % channels === 0));
    let cam = '';
    if (gradcam && !note) {
      try {
        const e = await explainImage(model, meta, r.file);
        cam = `<img src="${await uri(e.overlay.data, 3)}" title="Grad-CAM of ${esc(e.label)}" alt="">`;
      } catch (err) {
        note = `no Grad-CAM: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    cells.push(
      `<figure>${shown ? `<img src="${await uri(shown, channels === 1 ? 1 : 3)}" alt="">` : ''}${cam}<figcaption><b>${esc(r.trueClass)} → ${esc(r.predictedClass)}</b> p ${r.probability.toFixed(3)}, loss ${r.loss.toFixed(3)}<br><code>${esc(r.file)}</code></figcaption></figure>`,
    );
  }
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font-family:sans-serif;margin:1em}figure{display:inline-block;margin:6px;width:${2 * Math.max(width, 96) + 12}px;vertical-align:top}
img{width:${Math.max(width, 96)}px;image-rendering:pixelated;margin-right:4px}figcaption{font-size:12px;word-break:break-all}</style></head>
<body><h1>${esc(title)}</h1><p>Given class → predicted class, the predicted class's probability and the loss (−ln p(given class)); ${note ? esc(note) : 'right: Grad-CAM of the predicted class'}.</p>
${cells.join('\n')}</body></html>\n`;
  return { html, ...(note ? { gradcamNote: note } : {}) };
}
