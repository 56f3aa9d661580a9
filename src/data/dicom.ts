// DICOM images (PS3.5, PS3.3 C.7.6.3, C.11): parsed with dicom-parser, pixel data decoded for every common
// transfer syntax, the Modality LUT applied in float (no 8-bit round trip), then a VOI window to 0–255.
import type dicomParser from 'dicom-parser';
import { TransferkitError } from '../errors.js';
import { SYNTAXES, decodeCompressed } from './dicom-codecs.js';
import { encapsulatedFrame, parseDicomBytes } from './dicom-parse.js';
import { readBytes, readHead } from './native-io.js';
import { toChannels } from './decode-types.js';
import { resizeBilinear } from './resize.js';

/** A VOI window: the value range mapped onto 0–255. */
export interface DicomWindow {
  center: number;
  width: number;
}

/** One frame of a DICOM file, decoded, with what the file says about how to show it. */
export interface DicomImage {
  rows: number;
  columns: number;
  /** 1 (grayscale) or 3 (RGB, YBR converted). */
  channels: 1 | 3;
  /** The chosen frame after the Modality LUT (RescaleSlope/Intercept), channels last. */
  values: Float32Array;
  photometric: string;
  /** MONOCHROME1: low values are bright; inverted after the window. */
  inverted: boolean;
  /** The file's own WindowCenter/Width (there may be several). */
  windows: DicomWindow[];
  bitsStored: number;
  frames: number;
}

/** Named windows (center, width) in Hounsfield units, as radiologists and fastai's `dicom_windows` use them. */
export const WINDOW_PRESETS: Record<string, DicomWindow> = {
  brain: { center: 40, width: 80 },
  lung: { center: -600, width: 1500 },
  mediastinum: { center: 50, width: 350 },
  bone: { center: 600, width: 2800 },
};

export type WindowSpec = 'auto' | 'dicom' | DicomWindow;

/** `auto`, `dicom`, `C,W` or a preset name. */
export function parseWindow(spec: string): WindowSpec {
  const s = spec.trim().toLowerCase();
  if (s === 'auto' || s === 'dicom') return s;
  if (WINDOW_PRESETS[s]) return WINDOW_PRESETS[s];
  const [c, w] = s.split(',').map(Number);
  if (s.split(',').length === 2 && Number.isFinite(c) && w >= 1) return { center: c, width: w };
  throw new TransferkitError(
    `--window must be auto, dicom, CENTER,WIDTH (e.g. 40,400; width >= 1) or one of ${Object.keys(WINDOW_PRESETS).join(', ')}; got '${spec}'`,
  );
}

const DICOMDIR = '1.2.840.10008.1.3.10';
const SR_PREFIX = '1.2.840.10008.5.1.4.1.1.88.';

/** Whether a file starts with the DICM preamble (128 bytes, then "DICM"): DICOM without the `.dcm` extension. */
export async function hasDicomPreamble(file: string): Promise<boolean> {
  const head = await readHead(file, 132);
  return head?.length === 132 && String.fromCharCode(...head.subarray(128, 132)) === 'DICM';
}

/** Stored values this large are refused before anything is allocated (8192×8192×1 is the most a frame may hold). */
const MAX_VALUES = 2 ** 26;

/**
 * The stored values of one frame as signed or unsigned integers of BitsStored bits. BitsAllocated 1 is packed
 * least significant bit first, from bit `bitOffset` of `bytes` (frames of such images need not start on a byte).
 */
function storedValues(
  bytes: Uint8Array,
  n: number,
  f: { bitsAllocated: number; bitsStored: number; signed: boolean },
  bigEndian: boolean,
  bitOffset = 0,
): Float64Array {
  const out = new Float64Array(n);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (f.bitsAllocated === 1) {
    for (let i = 0; i < n; i++) out[i] = (bytes[(bitOffset + i) >> 3] >> ((bitOffset + i) & 7)) & 1;
    return out;
  }
  if (f.bitsAllocated === 8) for (let i = 0; i < n; i++) out[i] = bytes[i];
  else if (f.bitsAllocated === 16) for (let i = 0; i < n; i++) out[i] = v.getUint16(2 * i, !bigEndian);
  else for (let i = 0; i < n; i++) out[i] = v.getUint32(4 * i, !bigEndian);
  const mask = 2 ** f.bitsStored;
  for (let i = 0; i < n; i++) {
    const u = out[i] % mask;
    out[i] = f.signed && u >= mask / 2 ? u - mask : u;
  }
  return out;
}

// The inverse of PS3.3 C.7.6.3.1.2's RGB → YCbCr (Kr 0.299, Kb 0.114), exact rather than rounded to 6 places.
const [CR_R, CB_G, CR_G, CB_B] = [1.402, (-0.114 * 1.772) / 0.587, (-0.299 * 1.402) / 0.587, 1.772];

/** YCbCr (full range) to RGB, in place, interleaved. */
function ybrToRgb(x: Float64Array): void {
  for (let i = 0; i < x.length; i += 3) {
    const [y, cb, cr] = [x[i], x[i + 1] - 128, x[i + 2] - 128];
    x[i] = y + CR_R * cr;
    x[i + 1] = y + CB_G * cb + CR_G * cr;
    x[i + 2] = y + CB_B * cb;
  }
}

/** Uncompressed YBR_FULL_422 (PS3.3 C.7.6.3.1.2): Y0 Y1 Cb Cr per pair of pixels, to Y Cb Cr per pixel. */
function expand422(x: Float64Array, pixels: number): Float64Array {
  const out = new Float64Array(pixels * 3);
  for (let p = 0; p < pixels; p += 2) {
    const [y0, y1, cb, cr] = x.subarray(p * 2, p * 2 + 4);
    out.set([y0, cb, cr], p * 3);
    if (p + 1 < pixels) out.set([y1, cb, cr], p * 3 + 3);
  }
  return out;
}

interface Layout {
  rows: number;
  columns: number;
  samples: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  planar: boolean;
  frames: number;
  photometric: string;
}

/** The Image Pixel module's attributes, checked before anything is decoded or allocated. */
function pixelLayout(ds: dicomParser.DataSet, file: string, frame: number): Layout {
  const samples = ds.uint16('x00280002') ?? 1;
  const bitsAllocated = ds.uint16('x00280100') ?? 16;
  const l: Layout = {
    rows: ds.uint16('x00280010') ?? 0,
    columns: ds.uint16('x00280011') ?? 0,
    samples,
    bitsAllocated,
    bitsStored: ds.uint16('x00280101') ?? bitsAllocated,
    signed: ds.uint16('x00280103') === 1,
    planar: ds.uint16('x00280006') === 1,
    frames: Math.max(1, ds.intString('x00280008') || 1),
    photometric: (ds.string('x00280004') ?? (samples === 3 ? 'RGB' : 'MONOCHROME2')).trim().toUpperCase(),
  };
  if (!l.rows || !l.columns) throw new Error('no Rows/Columns');
  if (samples !== 1 && samples !== 3) throw new Error(`${samples} samples per pixel (1 or 3 expected)`);
  if (![1, 8, 16, 32].includes(bitsAllocated)) throw new Error(`BitsAllocated ${bitsAllocated} is not supported (1, 8, 16 or 32)`);
  if (l.bitsStored < 1 || l.bitsStored > bitsAllocated) throw new Error(`BitsStored ${l.bitsStored} does not fit BitsAllocated ${bitsAllocated}`);
  if (l.photometric === 'PALETTE COLOR') throw new Error('PALETTE COLOR images are not supported');
  if (l.rows * l.columns * samples > MAX_VALUES)
    throw new Error(`a ${l.rows}×${l.columns}×${samples} frame is larger than transferkit reads (${MAX_VALUES} values)`);
  if (frame < 0 || frame >= l.frames) throw new TransferkitError(`${file}: frame ${frame + 1} asked for, the file has ${l.frames}`);
  return l;
}

/** One uncompressed frame's stored values, interleaved; YBR_FULL_422 expanded to three samples per pixel. */
function rawFrame(ds: dicomParser.DataSet, pixelData: dicomParser.Element, l: Layout, frame: number, bigEndian: boolean): Float64Array {
  const pixels = l.rows * l.columns;
  // YBR_FULL_422 holds two samples per pixel (PS3.3 C.7.6.3.1.2); BitsAllocated 1 is packed across frame bounds.
  const stored = l.samples === 3 && l.photometric === 'YBR_FULL_422' ? pixels * 2 : pixels * l.samples;
  const bits = stored * l.bitsAllocated;
  const firstBit = frame * bits;
  const start = pixelData.dataOffset + Math.floor(firstBit / 8);
  const size = Math.ceil(((firstBit % 8) + bits) / 8);
  const available = Math.min(pixelData.length, ds.byteArray.length - pixelData.dataOffset);
  const needed = Math.ceil((l.frames * bits) / 8);
  if (available < needed)
    throw new Error(
      `truncated: pixel data holds ${available} bytes, ${l.frames} frame(s) of ${l.rows}×${l.columns}×${l.samples} ${l.photometric} at ${l.bitsAllocated} bits need ${needed}`,
    );
  const bytes = ds.byteArray.subarray(start, start + size);
  const v = storedValues(bytes, stored, l, bigEndian, firstBit % 8);
  if (stored !== pixels * l.samples) return expand422(v, pixels);
  if (l.samples === 3 && l.planar) {
    const inter = new Float64Array(v.length);
    for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) inter[p * 3 + c] = v[c * pixels + p];
    return inter;
  }
  return v;
}

/**
 * Reads one frame of a DICOM file (0-based). Throws, with the reason, for what is not a decodable image:
 * a DICOMDIR, a structured report, no pixel data, a truncated file, an unsupported transfer syntax.
 */
export async function readDicom(file: string, frame = 0): Promise<DicomImage> {
  return decodeDicom(await readBytes(file), frame, file);
}

/** One frame of a DICOM file's bytes (`file` names it in errors), as `readDicom` reads it. */
export async function decodeDicom(bytes: Uint8Array, frame = 0, file = 'the DICOM file'): Promise<DicomImage> {
  const { ds, syntax: declared } = parseDicomBytes(bytes);
  const sopClass = (ds.string('x00020002') ?? ds.string('x00080016') ?? '').trim();
  if (sopClass === DICOMDIR || ds.elements.x00041220) throw new Error('a DICOMDIR (an index of other files), not an image');
  if (sopClass.startsWith(SR_PREFIX)) throw new Error('a structured report (SR), not an image');
  const pixelData = ds.elements.x7fe00010 ?? ds.elements.x7fe00008;
  if (!pixelData) throw new Error('no pixel data (7FE0,0010)');
  const syntax = declared || '1.2.840.10008.1.2';
  const codec = SYNTAXES[syntax];
  if (!codec) throw new Error(`transfer syntax ${syntax} is not supported (uncompressed, deflated, RLE, JPEG baseline/lossless, JPEG-LS and JPEG 2000 are)`);
  const l = pixelLayout(ds, file, frame);
  const n = l.rows * l.columns * l.samples;
  let v: Float64Array;
  let colourDone = false;
  if (codec === 'raw' || codec === 'raw-be') v = rawFrame(ds, pixelData, l, frame, codec === 'raw-be');
  else {
    if (l.bitsAllocated === 1) throw new Error(`BitsAllocated 1 with ${codec} compression is not supported`);
    const data = encapsulatedFrame(ds, pixelData, frame, l.frames);
    let bytes: Uint8Array;
    try {
      bytes = await decodeCompressed(codec, data, l);
    } catch (err) {
      throw new Error(`cannot decode the ${codec} pixel data (${(err as Error).message ?? err})`);
    }
    if (bytes.length < (n * l.bitsAllocated) / 8) throw new Error(`the ${codec} frame decoded to ${bytes.length} bytes, ${(n * l.bitsAllocated) / 8} expected`);
    v = storedValues(bytes, n, l, false);
    // libjpeg-turbo and OpenJPEG return RGB for colour; RLE and JPEG-LS keep the photometric interpretation.
    colourDone = codec === 'jpeg' || codec === 'j2k';
  }
  if (l.samples === 3 && !colourDone && l.photometric.startsWith('YBR_FULL')) ybrToRgb(v);
  const slope = ds.floatString('x00281053') ?? 1;
  const intercept = ds.floatString('x00281052') ?? 0;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = l.samples === 1 ? v[i] * slope + intercept : v[i];
  const centers = (ds.string('x00281050') ?? '').split('\\').map(Number);
  const widths = (ds.string('x00281051') ?? '').split('\\').map(Number);
  const windows = centers.map((center, i) => ({ center, width: widths[i] })).filter((w) => Number.isFinite(w.center) && w.width >= 1 && ds.string('x00281050'));
  const { rows, columns, photometric, bitsStored, frames } = l;
  return { rows, columns, channels: l.samples as 1 | 3, values, photometric, inverted: photometric === 'MONOCHROME1', windows, bitsStored, frames };
}

/**
 * The linear VOI LUT of PS3.3 C.11.2.1.2.1, into [0, 255] (float, not rounded):
 * x <= c - 0.5 - (w-1)/2 → 0; x > c - 0.5 + (w-1)/2 → 255; else ((x - (c - 0.5)) / (w-1) + 0.5) × 255.
 */
export function applyWindow(values: Float32Array, w: DicomWindow, invert = false): Float32Array {
  const out = new Float32Array(values.length);
  const lo = w.center - 0.5 - (w.width - 1) / 2;
  const hi = w.center - 0.5 + (w.width - 1) / 2;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    const y = x <= lo ? 0 : x > hi ? 255 : ((x - (w.center - 0.5)) / (w.width - 1) + 0.5) * 255;
    out[i] = invert ? 255 - y : y;
  }
  return out;
}

/** The window `spec` chooses for an image: the file's first, a fixed one, or (auto, none in the file) 1st–99th percentile. */
export function chooseWindow(img: DicomImage, spec: WindowSpec, file: string): DicomWindow {
  if (typeof spec === 'object') return spec;
  if (img.windows.length) return img.windows[0];
  if (spec === 'dicom') throw new TransferkitError(`${file}: no WindowCenter/WindowWidth in the file; use --window auto, C,W or a preset`);
  const sorted = Float32Array.from(img.values).sort();
  const at = (q: number) => sorted[Math.round(q * (sorted.length - 1))];
  const [lo, hi] = [at(0.01), at(0.99)];
  return { center: (lo + hi + 1) / 2, width: Math.max(1, hi - lo + 1) };
}

/** A decoded DICOM image as 0–255 display values: grayscale windowed (MONOCHROME1 inverted), colour scaled by its bit depth. */
export function dicomToDisplay(img: DicomImage, spec: WindowSpec, file: string): Float32Array {
  if (img.channels === 3) {
    const scale = 255 / (2 ** Math.min(img.bitsStored, 16) - 1);
    return img.values.map((x) => Math.min(255, Math.max(0, x * scale)));
  }
  return applyWindow(img.values, chooseWindow(img, spec, file), img.inverted);
}

/** A decoded frame as a model is given it: windowed to 0–255 in full precision, resized bilinearly, as `channels`. */
export function dicomForModel(img: DicomImage, spec: WindowSpec, file: string, size: { height: number; width: number; channels?: number }): Float32Array {
  const display = dicomToDisplay(img, spec, file);
  const resized = resizeBilinear(display, img.rows, img.columns, img.channels, size.height, size.width);
  return toChannels(resized, img.channels, size.channels ?? 3);
}
