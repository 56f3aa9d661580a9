// Decoding an image file for a model: the format from the registry (formats.ts), its decoder at the asked size.
import type { DecodeOptions } from './decode-types.js';
import { formatOf } from './formats.js';

export type { DecodeOptions, DicomSettings, ImageFit, Interpolation } from './decode-types.js';

/**
 * Decodes an image file (JPEG, PNG, WebP, TIFF, GIF's first frame, BMP) into float32 pixels in [0, 255],
 * height × width × channels, channels last: EXIF orientation applied, alpha dropped, resized to the given
 * size. DICOM files (`.dcm`, or no extension and the DICM preamble) go through dicom.ts and their window.
 * Throws on an unreadable or damaged file; callers count such files as skipped.
 */
export async function decodeImage(file: string, options: DecodeOptions): Promise<Float32Array> {
  return (await formatOf(file)).decode(file, options);
}
