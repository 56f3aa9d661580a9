// What decoding is asked for and what it gives back, shared by the decoder registry (formats.ts) and its entries.

export type Interpolation = 'bilinear' | 'nearest' | 'bicubic' | 'lanczos3';

/** How a file becomes model input: its size, channels and, per format, how it is read. */
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

/** An image's values with their shape, channels last. */
export interface RawPixels {
  /** Height, width, channels. */
  shape: [number, number, number];
  data: Float32Array;
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
