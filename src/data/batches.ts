import type { AugmentSpec } from './augment.js';
import { augmentBatch } from './augment.js';
import { type Interpolation, decodeImage } from './decode.js';
import type { SkippedFile } from './folders.js';
import { type PreprocessMode, preprocessPixels } from './preprocess.js';

export interface BatchOptions {
  height: number;
  width: number;
  channels?: 1 | 3;
  interpolation?: Interpolation;
  /** The base's preprocessing, applied last. */
  preprocessing: PreprocessMode;
  /** Random transforms before the preprocessing (training batches only). */
  augment?: { spec: AugmentSpec; random: () => number };
}

export interface ImageBatch<T> {
  /** The items whose image decoded, in order; `x` holds their pixels. */
  items: T[];
  x: Float32Array;
  skipped: SkippedFile[];
}

/**
 * Decodes a batch of image files (in parallel, on libuv's threads), augments and preprocesses them into one
 * channels-last float32 array. Undecodable files are left out and reported, never fatal.
 */
export async function loadImageBatch<T extends { file: string }>(batch: T[], o: BatchOptions): Promise<ImageBatch<T>> {
  const skipped: SkippedFile[] = [];
  const decoded = await Promise.all(
    batch.map(async (item) => {
      try {
        return { item, pixels: await decodeImage(item.file, { height: o.height, width: o.width, channels: o.channels, interpolation: o.interpolation }) };
      } catch (err) {
        skipped.push({ file: item.file, reason: `cannot decode: ${(err as Error).message.split('\n')[0]}` });
        return null;
      }
    }),
  );
  const ok = decoded.filter((d) => d !== null);
  const size = o.height * o.width * (o.channels ?? 3);
  let x: Float32Array = new Float32Array(ok.length * size);
  ok.forEach((d, i) => x.set(d.pixels, i * size));
  if (o.augment && ok.length) x = augmentBatch(x, [ok.length, o.height, o.width, o.channels ?? 3], o.augment.spec, o.augment.random);
  return { items: ok.map((d) => d.item), x: preprocessPixels(x, o.preprocessing), skipped };
}
