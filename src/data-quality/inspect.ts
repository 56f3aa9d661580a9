// fastai's plot_top_losses and most_confused, with the file names: every image's loss, given and predicted class
// and probabilities, sorted by loss; the pairs of classes confused most; and a contact sheet of the worst images.
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LabelledFile, SkippedFile } from '../data/folders.js';
import { csvField } from '../data/exclusions.js';
import type { EngineName } from '../engine/predictor.js';
import { esc } from '../report/charts.js';
import { explainImage } from '../report/explain.js';
import { crossEntropy, scoreLabelledFiles } from '../train/saved/predict.js';
import { type ModelMetadata, sourceOf } from '../train/saved/saved-model.js';
import { figureHtml, pngUri, sheetHtml, thumbnail } from './sheet.js';

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
  const { scored, labels, skipped } = await scoreLabelledFiles(model, meta, files, options);
  const pairs = new Map<string, number>();
  const rows = scored.map((s, i) => {
    const label = labels[i];
    const predicted = s.label as number;
    if (predicted !== label) pairs.set(`${label},${predicted}`, (pairs.get(`${label},${predicted}`) ?? 0) + 1);
    const trueProbability = s.probabilities[label];
    return {
      file: s.file,
      trueClass: classNames[label],
      predictedClass: classNames[predicted],
      probability: s.probabilities[predicted],
      trueProbability,
      loss: crossEntropy(trueProbability),
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
  const [height, width] = meta.inputShape;
  let note: string | undefined;
  const figures: string[] = [];
  for (const r of rows) {
    let cam: { src: string | null; title?: string } = { src: null };
    if (gradcam && !note) {
      try {
        const e = await explainImage(model, meta, r.file);
        cam = { src: await pngUri(e.overlay.data, e.overlay.height, e.overlay.width, 3), title: `Grad-CAM of ${e.label}` };
      } catch (err) {
        note = `no Grad-CAM: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    const caption = `<b>${esc(r.trueClass)} → ${esc(r.predictedClass)}</b> p ${r.probability.toFixed(3)}, loss ${r.loss.toFixed(3)}<br><code>${esc(r.file)}</code>`;
    figures.push(figureHtml([{ src: await thumbnail(r.file, height, width, sourceOf(meta)) }, cam], caption));
  }
  const intro = `Given class → predicted class, the predicted class's probability and the loss (−ln p(given class)); ${note ? esc(note) : 'right: Grad-CAM of the predicted class'}.`;
  return { html: sheetHtml(title, intro, [{ figures }], Math.max(width, 96)), ...(note ? { gradcamNote: note } : {}) };
}
