// DICOM and TIFF files picked in the page, decoded by Node's own decoders: DICOM by data/dicom.ts (uncompressed
// and RLE; the codecs that need zlib or a WebAssembly build are not in the browser build yet), TIFF by the geotiff
// package behind Node's structure check (data/geotiff.ts; 8-bit grey or RGB, as Node's photo path reads them).
import { decodeDicom, dicomForModel } from '../data/dicom.js';
import { type Raster, rasterFromBytes } from '../data/geotiff.js';
import { TransferkitError } from '../errors.js';
import { pixelsFromRgba } from './resize-rgba.js';

export const SCAN_EXTENSIONS = ['.dcm', '.dicom', '.tif', '.tiff'] as const;

const isDicom = (name: string) => /\.(dcm|dicom)$/i.test(name);
/** Whether the page decodes `name` with Node's decoders rather than the browser's. */
export const isScan = (name: string) => SCAN_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));

const bytesOf = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer());

/** Why a TIFF is not read in the page: Node reads 8-bit grey and RGB(A) tiles as photos; other rasters train with --bands. */
function rasterProblem(r: Raster): string | null {
  const { bands, dtype } = r.info;
  if (dtype === 'uint8' && [1, 3, 4].includes(bands)) return null;
  return `a ${bands}-band ${dtype} raster: the page reads 8-bit grey or RGB TIFFs (Node trains multi-band rasters with --bands)`;
}

/** A TIFF's first three bands (grey copied) as RGBA, then resized as photos are. */
async function decodeTiff(bytes: Uint8Array, name: string, size: number): Promise<Float32Array> {
  const r = await rasterFromBytes(bytes, name);
  try {
    const problem = rasterProblem(r);
    if (problem) throw new TransferkitError(`${name}: ${problem}`);
    const { width, height, bands } = r.info;
    const rgb = await r.read([0, 0, width, height], bands === 1 ? [0, 0, 0] : [0, 1, 2]);
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
      rgba[p * 4 + 3] = 255;
    }
    return pixelsFromRgba(rgba, width, height, size);
  } finally {
    await r.close();
  }
}

/**
 * A DICOM file (the first frame, the automatic window, resized bilinearly, grey copied to three channels) or a
 * TIFF, as float32 RGB 0–255 at size × size; a file this build cannot decode is an error naming it and why.
 */
export async function decodeScan(blob: Blob, name: string, size: number): Promise<Float32Array> {
  const bytes = await bytesOf(blob);
  if (!isDicom(name)) return decodeTiff(bytes, name, size);
  try {
    return dicomForModel(await decodeDicom(bytes, 0, name), 'auto', name, { height: size, width: size });
  } catch (err) {
    throw new TransferkitError(`${name}: ${(err as Error).message}`);
  }
}

/** Why the page cannot decode a scan (DICOM decoded once, a TIFF's structure and type read), or null when it can. */
export async function scanProblem(blob: Blob, name: string): Promise<string | null> {
  const bytes = await bytesOf(blob);
  try {
    if (isDicom(name)) {
      await decodeDicom(bytes, 0, name);
      return null;
    }
    const r = await rasterFromBytes(bytes, name);
    try {
      const problem = rasterProblem(r);
      // One pixel decodes the first strip or tile: a compression this build lacks shows here.
      if (!problem) await r.read([0, 0, 1, 1], [0]);
      return problem;
    } finally {
      await r.close();
    }
  } catch (err) {
    return (err as Error).message.replace(`${name}: `, '');
  }
}
