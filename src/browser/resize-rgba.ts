// Decoded RGBA pixels to a model's size × size RGB, as Node resizes them: enlarged on both sides by the same code
// as Node's small-JPEG path (sharp's bilinear enlargement to the byte, data/enlarge.ts); shrunk on both sides by
// libvips's reduction reproduced (data/reduce.ts: sharp's, but for the JPEGs it shrinks while decoding);
// otherwise (one side grows, the other shrinks) Pillow's antialiased bilinear, of the same kind, not the same.
import { enlargeRgbaLikeVips } from '../data/enlarge.js';
import { reduceRgbLikeVips } from '../data/reduce.js';
import { resizeLikePillow } from '../data/resize.js';

/** `rgba` (width × height × 4, 0–255) as float32 RGB at size × size. */
export function pixelsFromRgba(rgba: ArrayLike<number>, width: number, height: number, size: number): Float32Array {
  if (width < size && height < size) return enlargeRgbaLikeVips(rgba as Uint8ClampedArray, height, width, size, size);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = rgba[j];
    rgb[i + 1] = rgba[j + 1];
    rgb[i + 2] = rgba[j + 2];
  }
  if (width === size && height === size) return Float32Array.from(rgb);
  if (width >= size && height >= size) return reduceRgbLikeVips(rgb, width, height, size, size);
  return Float32Array.from(resizeLikePillow(rgb, height, width, 3, size, size, 'bilinear'));
}
