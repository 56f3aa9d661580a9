// `explain`: Grad-CAM for each image of a list, written beside each other as <name>.gradcam.png (the overlay)
// and <name>.gradcam.npy (the raw map at the layer's resolution). The page's "Try it" uses explainImage alone.
import path from 'node:path';
import { tf } from '../tfjs.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { SkippedFile } from '../data/folders.js';
import { writeNpy, writePng } from '../data/inspect.js';
import { TransferkitError } from '../errors.js';
import { type GradCamResult, gradCam } from '../train/explain/gradcam.js';
import { type ModelMetadata, sourceOf } from '../train/saved/saved-model.js';
import { overlayHeatmap } from './heatmap.js';

export interface Explanation {
  file: string;
  label: string;
  classIndex: number;
  layer: string;
  /** The map's maximum, as fractions of the image's height and width (0 = top/left). */
  peak: { y: number; x: number };
  png: string;
  npy: string;
}

/** One image's Grad-CAM, read as the model reads it, with its overlay (RGB bytes at the model's input size). */
export interface ImageExplanation {
  label: string;
  classIndex: number;
  layer: string;
  peak: { y: number; x: number };
  /** The model's class probabilities (a one-unit sigmoid model's as [1 − p, p]). */
  probabilities: number[];
  cam: GradCamResult;
  overlay: { data: Buffer; height: number; width: number };
}

/** Thrown when the image itself cannot be read (the caller skips it or refuses it); other errors are the model's. */
export class UndecodableImage extends TransferkitError {}

export async function explainImage(
  model: tfl.LayersModel,
  meta: ModelMetadata,
  file: string,
  options: { layer?: string; classIndex?: number } = {},
): Promise<ImageExplanation> {
  if (meta.task === 'regression') throw new TransferkitError('Grad-CAM explains a class, and a regression model has none; explain works on classifiers');
  const [height, width, channels] = meta.inputShape;
  const source = sourceOf(meta);
  let pixels: Float32Array;
  try {
    pixels = await source.decode(file, height, width);
  } catch (err) {
    throw new UndecodableImage(`cannot decode: ${(err as Error).message.split('\n')[0]}`);
  }
  const x = tf.tensor4d(source.preprocess(Float32Array.from(pixels)), [1, height, width, source.channels]);
  let cam: GradCamResult;
  try {
    cam = gradCam(model, x, { ...options, threshold: meta.threshold });
  } finally {
    x.dispose();
  }
  let best = 0;
  cam.map.forEach((v, i) => (v > cam.map[best] ? (best = i) : 0));
  const shown = channels === 3 || channels === 1 ? pixels : pixels.filter((_, i) => i % channels === 0);
  const names = meta.classNames ?? [];
  return {
    label: names[cam.classIndex] ?? String(cam.classIndex),
    classIndex: cam.classIndex,
    layer: cam.layer,
    peak: { y: (Math.floor(best / cam.width) + 0.5) / cam.height, x: ((best % cam.width) + 0.5) / cam.width },
    probabilities: cam.outputs.length === 1 ? [1 - cam.outputs[0], cam.outputs[0]] : cam.outputs,
    cam,
    overlay: { data: overlayHeatmap(shown, height, width, channels === 3 ? 3 : 1, cam.map, cam.height, cam.width), height, width },
  };
}

export async function explainFiles(
  model: tfl.LayersModel,
  meta: ModelMetadata,
  files: string[],
  outDir: string,
  options: { layer?: string; classIndex?: number } = {},
): Promise<{ explained: Explanation[]; skipped: SkippedFile[] }> {
  const explained: Explanation[] = [];
  const skipped: SkippedFile[] = [];
  for (const file of files) {
    let e: ImageExplanation;
    try {
      e = await explainImage(model, meta, file, options);
    } catch (err) {
      if (!(err instanceof UndecodableImage)) throw err;
      skipped.push({ file, reason: err.message });
      continue;
    }
    const stem = path.join(outDir, path.basename(file).replace(/\.[^.]*$/, '') || path.basename(file));
    const png = `${stem}.gradcam.png`;
    const npy = `${stem}.gradcam.npy`;
    const { overlay, cam } = e;
    await writePng(png, { shape: [overlay.height, overlay.width, 3], data: Float32Array.from(overlay.data) });
    await writeNpy(npy, { shape: [cam.height, cam.width, 1], data: cam.map });
    explained.push({ file, label: e.label, classIndex: e.classIndex, layer: e.layer, peak: e.peak, png, npy });
  }
  return { explained, skipped };
}
