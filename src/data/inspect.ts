// What an image looks like at each step of the pipeline, for debugging preprocessing: the decoded values
// (DICOM after the Modality LUT, GeoTIFF bands as stored) and the 0–255 picture the model is given.
import sharp from 'sharp';
import { writeFileAtomic } from '../util/fs.js';
import { decodeImage } from './decode.js';
import type { DicomSettings, RawPixels } from './decode-types.js';
import { formatOf } from './formats.js';
import { NpyWriter } from './npy.js';

/**
 * An image's decoded values at its own size, before any window or scaling: DICOM after the Modality LUT
 * (Hounsfield units for CT), GeoTIFF bands as stored, other images as sharp decodes them.
 */
export async function readRawPixels(file: string, frame = 0): Promise<RawPixels> {
  return (await formatOf(file)).readRaw(file, frame);
}

/**
 * The 0–255 picture a model of `size`×`size` sees (before its own preprocessing): photos and DICOM as
 * training decodes them; GeoTIFFs sharp cannot show as RGB by their first three bands, each stretched to
 * its 2nd–98th percentile.
 */
export async function modelView(file: string, size: number, dicom?: DicomSettings): Promise<RawPixels> {
  const format = await formatOf(file);
  try {
    return { shape: [size, size, 3], data: await decodeImage(file, { height: size, width: size, channels: 3, dicom }) };
  } catch (err) {
    if (!format.view) throw err;
  }
  return format.view(file, size);
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
