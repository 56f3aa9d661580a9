import type { AugmentSpec } from './augment.js';
import { augmentBatch } from './augment.js';
import { type BandRole, type BandScale, preprocessBands, scaleBands } from './bands.js';
import { type DicomSettings, type ImageFit, type Interpolation, decodeImage } from './decode.js';
import type { Decoded, DecodePool } from './decode-pool.js';
import type { DecodeOptions } from './decode-types.js';
import type { SkippedFile } from './folders.js';
import { openRaster } from './geotiff.js';
import { type PreprocessMode, elementwise, preprocessPixels } from './preprocess.js';
import { resizeBilinear } from './resize.js';

/** How image files become model input: decoding to 0–255 values at a size, then the base's preprocessing. */
export interface PixelSource {
  channels: number;
  decode(file: string, height: number, width: number): Promise<Float32Array>;
  /** `decode` as decodeImage options, where it is decodeImage: a DecodePool's threads can then run it. */
  pooled?: Omit<DecodeOptions, 'height' | 'width'>;
  /** In place, on a batch. */
  preprocess(x: Float32Array): Float32Array;
}

/** Photos (JPEG, PNG, …) through sharp, DICOM through its window, RGB (or grayscale), with the base's preprocessing. */
export function photoSource(
  preprocessing: PreprocessMode,
  options: { interpolation?: Interpolation; channels?: 1 | 3; dicom?: DicomSettings; fit?: ImageFit } = {},
): PixelSource {
  const channels = options.channels ?? 3;
  const pooled = { channels, interpolation: options.interpolation, dicom: options.dicom, fit: options.fit };
  return {
    channels,
    decode: (file, height, width) => decodeImage(file, { height, width, ...pooled }),
    pooled,
    // One channel: elementwise preprocessing applies as it is; otherwise (a grayscale model made from an RGB
    // base) the base's statistics averaged over red, green and blue.
    preprocess: (x) => (channels === 3 || elementwise(preprocessing) ? preprocessPixels(x, preprocessing) : preprocessBands(x, preprocessing, [-1])),
  };
}

/** The bands chosen from a raster, how each is scaled, and which ImageNet channel each stands for. */
export interface BandSettings {
  /** 0-based band indices. */
  indices: number[];
  scale: BandScale;
  roles: BandRole[];
}

/** Multi-band GeoTIFF tiles: chosen bands, scaled to 0–255 by the training statistics, resized bilinearly. */
export function rasterSource(preprocessing: PreprocessMode, bands: BandSettings): PixelSource {
  return {
    channels: bands.indices.length,
    async decode(file, height, width) {
      const raster = await openRaster(file);
      try {
        const { width: w, height: h } = raster.info;
        const px = await raster.read([0, 0, w, h], bands.indices);
        return scaleBands(resizeBilinear(px, h, w, bands.indices.length, height, width), bands.indices.length, bands.scale);
      } finally {
        await raster.close();
      }
    },
    preprocess: (x) => preprocessBands(x, preprocessing, bands.roles),
  };
}

export interface BatchOptions {
  height: number;
  width: number;
  source: PixelSource;
  /** Random transforms before the preprocessing (training batches only). */
  augment?: { spec: AugmentSpec; random: () => number };
  /** Threads that decode the files, where the source says how (photos). */
  pool?: DecodePool;
}

export interface ImageBatch<T> {
  /** The items whose image decoded, in order; `x` holds their pixels. */
  items: T[];
  x: Float32Array;
  skipped: SkippedFile[];
}

/** Each file's pixels or error, in order: in the pool's threads where it can, else here (on libuv's threads). */
async function decodeAll(files: string[], o: BatchOptions): Promise<Decoded[]> {
  if (o.pool && o.source.pooled) return o.pool.decode(files, { height: o.height, width: o.width, ...o.source.pooled });
  return Promise.all(
    files.map(async (file): Promise<Decoded> => {
      try {
        return { pixels: await o.source.decode(file, o.height, o.width) };
      } catch (err) {
        return { error: (err as Error).message.split('\n')[0] };
      }
    }),
  );
}

/**
 * Decodes a batch of image files (in parallel), augments and preprocesses them into one channels-last float32
 * array. Undecodable files are left out and reported, never fatal.
 */
export async function loadImageBatch<T extends { file: string }>(batch: T[], o: BatchOptions): Promise<ImageBatch<T>> {
  const decoded = await decodeAll(
    batch.map((item) => item.file),
    o,
  );
  const skipped: SkippedFile[] = [];
  const ok: Array<{ item: T; pixels: Float32Array }> = [];
  decoded.forEach((d, i) => {
    if ('pixels' in d) ok.push({ item: batch[i], pixels: d.pixels });
    else skipped.push({ file: batch[i].file, reason: `cannot decode: ${d.error}` });
  });
  const size = o.height * o.width * o.source.channels;
  let x: Float32Array = new Float32Array(ok.length * size);
  ok.forEach((d, i) => x.set(d.pixels, i * size));
  if (o.augment && ok.length) x = augmentBatch(x, [ok.length, o.height, o.width, o.source.channels], o.augment.spec, o.augment.random);
  return { items: ok.map((d) => d.item), x: o.source.preprocess(x), skipped };
}
