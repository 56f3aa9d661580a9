// What an image looks like at each step of the pipeline, for debugging preprocessing: the decoded values
// (DICOM after the Modality LUT, GeoTIFF bands as stored) and the 0–255 picture the model is given.
import path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../util/fs.js';
import { BandStats, scaleBands } from './bands.js';
import { type DicomSettings, decodeImage } from './decode.js';
import { isDicomFile, readDicom } from './dicom.js';
import { RASTER_EXTENSIONS, openRaster } from './geotiff.js';
import { NpyWriter } from './npy.js';
import { resizeBilinear } from './resize.js';

export interface RawPixels {
  /** Height, width, channels. */
  shape: [number, number, number];
  data: Float32Array;
}

const isRaster = (file: string) => RASTER_EXTENSIONS.includes(path.extname(file).toLowerCase());

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
 * An image's decoded values at its own size, before any window or scaling: DICOM after the Modality LUT
 * (Hounsfield units for CT), GeoTIFF bands as stored, other images as sharp decodes them.
 */
export async function readRawPixels(file: string, frame = 0): Promise<RawPixels> {
  if (await isDicomFile(file)) {
    const img = await readDicom(file, frame);
    return { shape: [img.rows, img.columns, img.channels], data: img.values };
  }
  if (isRaster(file)) return readRaster(file);
  const { data, info } = await sharp(file, { failOn: 'error', limitInputPixels: 1e9 }).rotate().raw({ depth: 'float' }).toBuffer({ resolveWithObject: true });
  return { shape: [info.height, info.width, info.channels], data: new Float32Array(data.buffer, data.byteOffset, data.length / 4) };
}

/**
 * The 0–255 picture a model of `size`×`size` sees (before its own preprocessing): photos and DICOM as
 * training decodes them; GeoTIFFs sharp cannot show as RGB by their first three bands, each stretched to
 * its 2nd–98th percentile.
 */
export async function modelView(file: string, size: number, dicom?: DicomSettings): Promise<RawPixels> {
  try {
    return { shape: [size, size, 3], data: await decodeImage(file, { height: size, width: size, channels: 3, dicom }) };
  } catch (err) {
    if (!isRaster(file)) throw err;
  }
  const raw = await readRaster(file);
  const [h, w, bands] = raw.shape;
  const pick = Array.from({ length: 3 }, (_, c) => Math.min(c, bands - 1));
  const rgb = new Float32Array(h * w * 3);
  for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = raw.data[p * bands + pick[c]];
  const stats = new BandStats(3);
  stats.add(rgb);
  return { shape: [size, size, 3], data: scaleBands(resizeBilinear(rgb, h, w, 3, size, size), 3, stats.scale({ mode: 'percentile', percentiles: [2, 98] })) };
}

/** Writes 0–255 values (channels last, 1 or 3 channels) as a PNG, atomically. */
export async function writePng(file: string, px: RawPixels): Promise<void> {
  await writeFileAtomic(file, await encodePng(px));
}

/** 0–255 values (clamped, rounded) as PNG bytes. */
export async function encodePng(px: RawPixels): Promise<Buffer> {
  const [height, width, channels] = px.shape;
  const bytes = Buffer.from(Uint8Array.from(px.data, (v) => Math.round(Math.min(255, Math.max(0, v)))));
  return sharp(bytes, { raw: { width, height, channels: channels as 1 | 3 } })
    .png()
    .toBuffer();
}

/** Writes float32 values as .npy: H×W for one channel, H×W×C otherwise. */
export async function writeNpy(file: string, px: RawPixels): Promise<void> {
  const [h, w, c] = px.shape;
  const npy = await NpyWriter.open(file, c === 1 ? [w] : [w, c]);
  await npy.append(px.data, h);
  await npy.close();
}
