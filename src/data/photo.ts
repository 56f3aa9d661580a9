// Photos (JPEG, PNG, WebP, TIFF, GIF's first frame, BMP): plain JPEGs at the model's size, or small ones smaller
// on both sides, through the wasm decoder (jpeg.ts), the rest through sharp (libvips).
import { readFileSync } from 'node:fs';
import { type DecodeOptions, type Interpolation, type RawPixels, fitSize } from './decode-types.js';
import { decodePlainJpeg } from './jpeg.js';
import { resizeLikePillow } from './resize.js';

const KERNELS: Record<Interpolation, 'linear' | 'nearest' | 'cubic' | 'lanczos3'> = {
  bilinear: 'linear',
  nearest: 'nearest',
  bicubic: 'cubic',
  lanczos3: 'lanczos3',
};

// sharp (libvips, ~100 ms to load) only for files the small-JPEG path does not take.
let sharpModule: Promise<typeof import('sharp')> | undefined;
const loadSharp = () => {
  sharpModule ??= import('sharp');
  return sharpModule;
};

/** A photo as float32 0–255 values at height × width: EXIF orientation applied, alpha dropped. */
export async function decodePhoto(file: string, options: DecodeOptions): Promise<Float32Array> {
  const channels = options.channels ?? 3;
  // Read in one call: the promise API's several hops per file cost more than the read of a small image.
  const bytes = readFileSync(file);
  const plain = channels === 3 && !options.fit ? await decodePlainJpeg(bytes, options.height, options.width, options.interpolation) : null;
  if (plain) return plain;
  const { default: sharp } = await loadSharp();
  let img = sharp(bytes, { failOn: 'error', limitInputPixels: 1e9 }).rotate().removeAlpha();
  img = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
  const kernel = KERNELS[options.interpolation ?? 'bilinear'];
  const fit = options.fit;
  if (fit && options.interpolation !== 'nearest') {
    // As the image processor does: Pillow's resize (reproduced: libvips resamples differently, most of all when
    // enlarging), then the centre crop. The oriented size is known once decoded.
    const full = await img.raw().toBuffer({ resolveWithObject: true });
    const [h, w] = fitSize(full.info.height, full.info.width, fit);
    // A resize smaller than the model's size (a config whose crop exceeds its resize) is squashed instead.
    const [rh, rw] = h >= options.height && w >= options.width ? [h, w] : [options.height, options.width];
    const filter = options.interpolation === 'bicubic' || options.interpolation === 'lanczos3' ? options.interpolation : 'bilinear';
    const resized = resizeLikePillow(full.data, full.info.height, full.info.width, channels, rh, rw, filter);
    const out = new Float32Array(options.height * options.width * channels);
    const top = (rh - options.height) >> 1;
    const left = (rw - options.width) >> 1;
    for (let y = 0; y < options.height; y++)
      out.set(resized.subarray(((y + top) * rw + left) * channels, ((y + top) * rw + left + options.width) * channels), y * options.width * channels);
    return out;
  }
  img = img.resize(options.width, options.height, { fit: 'fill', kernel });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, expected ${channels}`);
  return Float32Array.from(data);
}

/** A photo's values as sharp decodes them, oriented, at its own size. */
export async function readPhoto(file: string): Promise<RawPixels> {
  const { default: sharp } = await loadSharp();
  const { data, info } = await sharp(file, { failOn: 'error', limitInputPixels: 1e9 }).rotate().raw({ depth: 'float' }).toBuffer({ resolveWithObject: true });
  return { shape: [info.height, info.width, info.channels], data: new Float32Array(data.buffer, data.byteOffset, data.length / 4) };
}
