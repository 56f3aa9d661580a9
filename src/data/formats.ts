// The decoder registry: every image format transferkit reads, with how a file is recognised (extension, first
// bytes), decoded for a model, and read as stored (`show --raw`). A new format is one entry here.
import path from 'node:path';
import { BandStats, scaleBands } from './bands.js';
import type { DecodeOptions, RawPixels } from './decode-types.js';
import { type WindowSpec, dicomForModel, hasDicomPreamble, parseWindow, readDicom } from './dicom.js';
import { openRaster } from './geotiff.js';
import { decodePhoto, readPhoto } from './photo.js';
import { resizeBilinear } from './resize.js';

/** One image format: how a file is recognised, decoded for a model, and described as stored. */
export interface ImageFormat {
  /** Lower-case extensions with the dot; the format listing a file's extension takes it. */
  extensions: readonly string[];
  /** Recognises a file without an extension by its first bytes. */
  sniff?: (file: string) => Promise<boolean>;
  /** 0–255 values, height × width × channels, as a model is given them. Throws on an unreadable file. */
  decode(file: string, options: DecodeOptions): Promise<Float32Array>;
  /** The values as stored, at the image's own size, before any window or scaling. */
  readRaw(file: string, frame: number): Promise<RawPixels>;
  /** The 0–255 picture of a file `decode` refuses, at size × size × 3, where the format has another way to show it. */
  view?(file: string, size: number): Promise<RawPixels>;
}

/** JPEG, PNG, WebP, GIF's first frame, BMP: decoded by sharp (small plain JPEGs by libjpeg-turbo in wasm). */
const PHOTO: ImageFormat = {
  extensions: ['.bmp', '.gif', '.jpeg', '.jpg', '.png', '.webp'],
  decode: decodePhoto,
  readRaw: readPhoto,
};

async function readRaster(file: string): Promise<RawPixels> {
  const r = await openRaster(file);
  try {
    const { width, height, bands } = r.info;
    return {
      shape: [height, width, bands],
      data: await r.read(
        [0, 0, width, height],
        Array.from({ length: bands }, (_, i) => i),
      ),
    };
  } finally {
    await r.close();
  }
}

/**
 * TIFF and GeoTIFF tiles: 8-bit RGB ones decode as photos (multi-band training reads them through
 * batches.ts's rasterSource); the bands as stored for `--raw`; a picture of the first three bands, each
 * stretched to its 2nd–98th percentile, for those sharp cannot show as RGB.
 */
const GEOTIFF: ImageFormat = {
  extensions: ['.tif', '.tiff'],
  decode: decodePhoto,
  readRaw: readRaster,
  async view(file, size) {
    const raw = await readRaster(file);
    const [h, w, bands] = raw.shape;
    const pick = Array.from({ length: 3 }, (_, c) => Math.min(c, bands - 1));
    const rgb = new Float32Array(h * w * 3);
    for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = raw.data[p * bands + pick[c]];
    const stats = new BandStats(3);
    stats.add(rgb);
    return { shape: [size, size, 3], data: scaleBands(resizeBilinear(rgb, h, w, 3, size, size), 3, stats.scale({ mode: 'percentile', percentiles: [2, 98] })) };
  },
};

/** DICOM (`.dcm`, `.dicom`, or no extension and the DICM preamble): windowed to 0–255 in full precision, then resized bilinearly. */
const DICOM: ImageFormat = {
  extensions: ['.dcm', '.dicom'],
  sniff: hasDicomPreamble,
  async decode(file, options) {
    const spec: WindowSpec = parseWindow(options.dicom?.window ?? 'auto');
    return dicomForModel(await readDicom(file, options.dicom?.frame ?? 0), spec, file, options);
  },
  /** After the Modality LUT (Hounsfield units for CT). */
  async readRaw(file, frame) {
    const img = await readDicom(file, frame);
    return { shape: [img.rows, img.columns, img.channels], data: img.values };
  },
};

const FORMATS: readonly ImageFormat[] = [PHOTO, GEOTIFF, DICOM];

/** Extensions Keras's `image_dataset_from_directory` reads, plus WebP and TIFF (sharp decodes both) and DICOM. */
export const IMAGE_EXTENSIONS: readonly string[] = FORMATS.flatMap((f) => f.extensions);

const extensionOf = (file: string) => path.extname(file).toLowerCase();

/** A file's format by its extension, or, without one, by its first bytes; undefined for anything else. */
export async function recognise(file: string): Promise<ImageFormat | undefined> {
  const ext = extensionOf(file);
  const byName = FORMATS.find((f) => f.extensions.includes(ext));
  if (byName || ext !== '') return byName;
  for (const f of FORMATS) if (f.sniff && (await f.sniff(file))) return f;
  return undefined;
}

/** The format that reads `file`: an unrecognised file goes to sharp, which decides by its content. */
export async function formatOf(file: string): Promise<ImageFormat> {
  return (await recognise(file)) ?? PHOTO;
}

/** An image by its extension, or a file without one that a format recognises by its bytes (DICOM). */
export async function isImageFile(file: string): Promise<boolean> {
  return (await recognise(file)) !== undefined;
}

/** A TIFF/GeoTIFF tile, by its extension: the files multi-band training reads band by band. */
export const isRaster = (file: string): boolean => GEOTIFF.extensions.includes(extensionOf(file));
