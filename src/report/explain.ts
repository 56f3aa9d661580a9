// `explain`: Grad-CAM for each image of a list, written beside each other as <name>.gradcam.png (the overlay)
// and <name>.gradcam.npy (the raw map at the layer's resolution).
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { SkippedFile } from '../data/folders.js';
import { writeNpy, writePng } from '../data/inspect.js';
import { gradCam } from '../train/gradcam.js';
import { type ModelMetadata, sourceOf } from '../train/saved-model.js';
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

export async function explainFiles(
  model: tfl.LayersModel,
  meta: ModelMetadata,
  files: string[],
  outDir: string,
  options: { layer?: string; classIndex?: number } = {},
): Promise<{ explained: Explanation[]; skipped: SkippedFile[] }> {
  const [height, width, channels] = meta.inputShape;
  const source = sourceOf(meta);
  const names = meta.classNames ?? [];
  const explained: Explanation[] = [];
  const skipped: SkippedFile[] = [];
  for (const file of files) {
    let pixels: Float32Array;
    try {
      pixels = await source.decode(file, height, width);
    } catch (err) {
      skipped.push({ file, reason: `cannot decode: ${(err as Error).message.split('\n')[0]}` });
      continue;
    }
    const x = tf.tensor4d(source.preprocess(Float32Array.from(pixels)), [1, height, width, source.channels]);
    const cam = (() => {
      try {
        return gradCam(model, x, options);
      } finally {
        x.dispose();
      }
    })();
    let best = 0;
    cam.map.forEach((v, i) => (v > cam.map[best] ? (best = i) : 0));
    const stem = path.join(outDir, path.basename(file).replace(/\.[^.]*$/, '') || path.basename(file));
    const shown = channels === 3 || channels === 1 ? pixels : pixels.filter((_, i) => i % channels === 0);
    const png = `${stem}.gradcam.png`;
    const npy = `${stem}.gradcam.npy`;
    const overlay = overlayHeatmap(shown, height, width, channels === 3 ? 3 : 1, cam.map, cam.height, cam.width);
    await writePng(png, { shape: [height, width, 3], data: Float32Array.from(overlay) });
    await writeNpy(npy, { shape: [cam.height, cam.width, 1], data: cam.map });
    explained.push({
      file,
      label: names[cam.classIndex] ?? String(cam.classIndex),
      classIndex: cam.classIndex,
      layer: cam.layer,
      peak: { y: (Math.floor(best / cam.width) + 0.5) / cam.height, x: ((best % cam.width) + 0.5) / cam.width },
      png,
      npy,
    });
  }
  return { explained, skipped };
}
