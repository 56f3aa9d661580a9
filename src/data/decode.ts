import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { decodePlainJpeg } from './jpeg.js';

export type Interpolation = 'bilinear' | 'nearest' | 'bicubic' | 'lanczos3';

const KERNELS: Record<Interpolation, 'linear' | 'nearest' | 'cubic' | 'lanczos3'> = { bilinear: 'linear', nearest: 'nearest', bicubic: 'cubic', lanczos3: 'lanczos3' };

export interface DecodeOptions {
  height: number;
  width: number;
  /** 3 (RGB; grayscale is expanded) or 1 (grayscale). */
  channels?: 1 | 3;
  interpolation?: Interpolation;
}

/**
 * Decodes an image file (JPEG, PNG, WebP, TIFF, GIF's first frame, BMP) into float32 pixels in [0, 255],
 * height × width × channels, channels last: EXIF orientation applied, alpha dropped, resized to the given
 * size. Throws on an unreadable or damaged file; callers count such files as skipped.
 */
export async function decodeImage(file: string, options: DecodeOptions): Promise<Float32Array> {
  const channels = options.channels ?? 3;
  const bytes = await readFile(file);
  const plain = channels === 3 ? await decodePlainJpeg(bytes, options.height, options.width) : null;
  if (plain) return plain;
  let img = sharp(bytes, { failOn: 'error', limitInputPixels: 1e9 }).rotate().removeAlpha();
  img = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
  const { data, info } = await img
    .resize(options.width, options.height, { fit: 'fill', kernel: KERNELS[options.interpolation ?? 'bilinear'] })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, expected ${channels}`);
  return Float32Array.from(data);
}
