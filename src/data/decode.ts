import { readFileSync } from 'node:fs';
import { type WindowSpec, dicomToDisplay, isDicomFile, parseWindow, readDicom } from './dicom.js';
import { resizeBilinear, resizeLikePillow } from './resize.js';
import { decodePlainJpeg } from './jpeg.js';

export type Interpolation = 'bilinear' | 'nearest' | 'bicubic' | 'lanczos3';

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

export interface DecodeOptions {
  height: number;
  width: number;
  /** 3 (RGB; grayscale is expanded) or 1 (grayscale). */
  channels?: 1 | 3;
  interpolation?: Interpolation;
  /** DICOM files: the window (`auto`, `dicom`, `C,W`, a preset; default auto) and the 0-based frame (default 0). */
  dicom?: DicomSettings;
  /** How a photo reaches height × width: squashed to it (default), or resized as `fit` says, then centre-cropped. */
  fit?: ImageFit;
}

/**
 * Hugging Face's image processors' resize: the shorter side to `shortestEdge` (the longer one scaled and rounded
 * down), or to height × width; what exceeds the model's size is then cropped around the centre.
 */
export type ImageFit = { shortestEdge: number } | { height: number; width: number };

/** The size an image of h × w is resized to before the centre crop, as transformers computes it. */
export function fitSize(h: number, w: number, fit: ImageFit): [number, number] {
  if (!('shortestEdge' in fit)) return [fit.height, fit.width];
  const e = fit.shortestEdge;
  return h <= w ? [e, Math.floor((e * w) / h)] : [Math.floor((e * h) / w), e];
}

/** How DICOM files are read; stored with a model so that predict reads them the same way. */
export interface DicomSettings {
  window?: string;
  frame?: number;
}

/** Grayscale to three channels by repetition, or colour to one by luminance (ITU-R BT.601, as sharp's b-w). */
export function toChannels(x: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return x;
  const n = x.length / from;
  const out = new Float32Array(n * to);
  for (let p = 0; p < n; p++) {
    if (to === 3) out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = x[p];
    else out[p] = 0.299 * x[p * 3] + 0.587 * x[p * 3 + 1] + 0.114 * x[p * 3 + 2];
  }
  return out;
}

/** A DICOM image as the model sees it: windowed to 0–255 in full precision, then resized bilinearly. */
async function decodeDicom(file: string, options: DecodeOptions, channels: number): Promise<Float32Array> {
  const spec: WindowSpec = parseWindow(options.dicom?.window ?? 'auto');
  const img = await readDicom(file, options.dicom?.frame ?? 0);
  const display = dicomToDisplay(img, spec, file);
  const resized = resizeBilinear(display, img.rows, img.columns, img.channels, options.height, options.width);
  return toChannels(resized, img.channels, channels);
}

/**
 * Decodes an image file (JPEG, PNG, WebP, TIFF, GIF's first frame, BMP) into float32 pixels in [0, 255],
 * height × width × channels, channels last: EXIF orientation applied, alpha dropped, resized to the given
 * size. DICOM files (`.dcm`, or no extension and the DICM preamble) go through dicom.ts and their window.
 * Throws on an unreadable or damaged file; callers count such files as skipped.
 */
export async function decodeImage(file: string, options: DecodeOptions): Promise<Float32Array> {
  const channels = options.channels ?? 3;
  if (await isDicomFile(file)) return decodeDicom(file, options, channels);
  // Read in one call: the promise API's several hops per file cost more than the read of a small image.
  const bytes = readFileSync(file);
  const plain = channels === 3 && !options.fit ? await decodePlainJpeg(bytes, options.height, options.width) : null;
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
