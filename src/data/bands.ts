// Multi-band imagery for ImageNet bases: which bands, how each is scaled to the 0–255 range the bases'
// preprocessing expects (statistics from the training split, stored with the model), and each band's role.
import { TransferkitError } from '../errors.js';
import type { PreprocessMode } from './preprocess.js';

/** Sentinel-2's 13 bands in the order of EuroSAT's GeoTIFFs. */
export const SENTINEL2_BANDS = ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B08A', 'B09', 'B10', 'B11', 'B12'];
/** Sentinel-2's red, green and blue. */
export const SENTINEL2_RGB = ['B04', 'B03', 'B02'];

const normaliseName = (n: string) => n.toUpperCase().replace(/^B(\d)(A?)$/, 'B0$1$2');

/**
 * `--bands 4,3,2` (1-based), `B04,B03,B02` (Sentinel-2 names, for 13-band rasters) or `all`: 0-based indices.
 */
export function parseBands(spec: string, available: number): number[] {
  if (spec.trim().toLowerCase() === 'all') return Array.from({ length: available }, (_, i) => i);
  const bands = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      if (/^\d+$/.test(s)) return Number(s) - 1;
      const i = SENTINEL2_BANDS.indexOf(normaliseName(s));
      if (i < 0 || available !== SENTINEL2_BANDS.length)
        throw new TransferkitError(
          `--bands: '${s}' is neither a 1-based band number nor a Sentinel-2 band name (of a 13-band raster: ${SENTINEL2_BANDS.join(', ')})`,
        );
      return i;
    });
  const bad = bands.find((b) => b < 0 || b >= available);
  if (bad !== undefined) throw new TransferkitError(`--bands: band ${bad + 1} does not exist; the rasters have ${available} band(s)`);
  if (!bands.length) throw new TransferkitError(`--bands: no band in '${spec}'`);
  return bands;
}

export type BandScale = { mode: 'divide'; divisor: number } | { mode: 'minmax' | 'percentile'; low: number[]; high: number[]; percentiles?: [number, number] };
export type BandScaleSpec = { mode: 'divide'; divisor: number } | { mode: 'minmax' } | { mode: 'percentile'; percentiles: [number, number] };

/** `minmax`, `percentile:2,98` or `divide:10000`. */
export function parseBandScale(spec: string): BandScaleSpec {
  const [mode, arg] = spec.split(':').map((s) => s.trim());
  if (mode === 'minmax' && arg === undefined) return { mode };
  if (mode === 'divide' && Number(arg) > 0) return { mode, divisor: Number(arg) };
  if (mode === 'percentile') {
    const [lo, hi] = (arg ?? '').split(',').map(Number);
    if (lo >= 0 && hi <= 100 && lo < hi) return { mode, percentiles: [lo, hi] };
  }
  throw new TransferkitError(`--band-scale must be minmax, percentile:LOW,HIGH (e.g. percentile:2,98) or divide:N (e.g. divide:10000); got '${spec}'`);
}

/** Per-band statistics over sampled pixels of the training images (channels-last tiles of `bands` channels). */
export class BandStats {
  private readonly samples: number[][];

  constructor(
    private readonly bands: number,
    private readonly cap = 200_000,
  ) {
    this.samples = Array.from({ length: bands }, () => []);
  }

  add(pixels: Float32Array): void {
    const n = pixels.length / this.bands;
    const step = Math.max(1, Math.floor(n / 2048));
    for (let p = 0; p < n; p += step) {
      for (let c = 0; c < this.bands; c++) if (this.samples[c].length < this.cap) this.samples[c].push(pixels[p * this.bands + c]);
    }
  }

  scale(spec: BandScaleSpec): BandScale {
    if (spec.mode === 'divide') return spec;
    const sorted = this.samples.map((s) => Float64Array.from(s).sort());
    if (sorted.some((s) => s.length === 0)) throw new TransferkitError('no pixels to compute band statistics from');
    const at = (s: Float64Array, q: number) => s[Math.min(s.length - 1, Math.max(0, Math.round((q / 100) * (s.length - 1))))];
    const [lo, hi] = spec.mode === 'minmax' ? [0, 100] : spec.percentiles;
    return {
      mode: spec.mode,
      low: sorted.map((s) => at(s, lo)),
      high: sorted.map((s) => at(s, hi)),
      ...(spec.mode === 'percentile' ? { percentiles: spec.percentiles } : {}),
    };
  }
}

/** Scales raw band values to 0–255 in place (clipped), channels last. */
export function scaleBands(x: Float32Array, channels: number, scale: BandScale): Float32Array {
  for (let i = 0; i < x.length; i++) {
    const c = i % channels;
    const v = scale.mode === 'divide' ? x[i] / scale.divisor : (x[i] - scale.low[c]) / Math.max(scale.high[c] - scale.low[c], 1e-12);
    x[i] = Math.min(1, Math.max(0, v)) * 255;
  }
  return x;
}

/** Which ImageNet channel each band stands for: 0 red, 1 green, 2 blue, -1 none. */
export type BandRole = 0 | 1 | 2 | -1;

const CAFFE_MEAN_RGB = [123.68, 116.779, 103.939];
const TORCH_MEAN_RGB = [0.485, 0.456, 0.406];
const TORCH_STD_RGB = [0.229, 0.224, 0.225];
const avg = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/**
 * The base's preprocessing for any number of bands (0–255 in), in place: red, green and blue bands get their
 * ImageNet statistics, other bands the average. Kernels are arranged to match (applications/bands.ts), so
 * caffe's BGR order is handled there rather than by swapping channels here.
 */
export function preprocessBands(x: Float32Array, mode: PreprocessMode, roles: BandRole[]): Float32Array {
  const c = roles.length;
  const pick = (stats: number[], r: BandRole) => (r < 0 ? avg(stats) : stats[r]);
  const shift = roles.map((r) => (mode === 'caffe' ? pick(CAFFE_MEAN_RGB, r) : mode === 'torch' ? pick(TORCH_MEAN_RGB, r) : 0));
  const div = roles.map((r) => (mode === 'torch' ? pick(TORCH_STD_RGB, r) : 1));
  for (let i = 0; i < x.length; i++) {
    const k = i % c;
    if (mode === 'tf') x[i] = x[i] / 127.5 - 1;
    else if (mode === 'torch') x[i] = (x[i] / 255 - shift[k]) / div[k];
    else if (mode === 'caffe') x[i] -= shift[k];
    else if (mode === 'unit') x[i] /= 255;
  }
  return x;
}
