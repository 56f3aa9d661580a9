// Decoders for DICOM's compressed transfer syntaxes: RLE (PS3.5 Annex G) here, JPEG lossless with
// jpeg-lossless-decoder-js, and the rest with Cornerstone's WebAssembly builds of libjpeg-turbo, CharLS and OpenJPEG.
import { concatBytes } from '../util/bytes.js';
import { requireCodec } from './native-io.js';

export interface FrameLayout {
  rows: number;
  columns: number;
  samples: number;
  bitsAllocated: number;
  signed: boolean;
  /** PhotometricInterpretation: RGB JPEG baseline frames hold RGB components unless an Adobe marker says not. */
  photometric?: string;
}

/** Transfer syntax UIDs transferkit decodes, by codec. */
export const SYNTAXES: Record<string, 'raw' | 'raw-be' | 'rle' | 'jpeg-lossless' | 'jpeg' | 'jpeg-ls' | 'j2k'> = {
  '1.2.840.10008.1.2': 'raw',
  '1.2.840.10008.1.2.1': 'raw',
  '1.2.840.10008.1.2.1.99': 'raw', // deflated: the data set is inflated when parsed
  '1.2.840.10008.1.2.2': 'raw-be',
  '1.2.840.10008.1.2.5': 'rle',
  '1.2.840.10008.1.2.4.57': 'jpeg-lossless',
  '1.2.840.10008.1.2.4.70': 'jpeg-lossless',
  '1.2.840.10008.1.2.4.50': 'jpeg',
  '1.2.840.10008.1.2.4.80': 'jpeg-ls',
  '1.2.840.10008.1.2.4.81': 'jpeg-ls',
  '1.2.840.10008.1.2.4.90': 'j2k',
  '1.2.840.10008.1.2.4.91': 'j2k',
};

/** RLE Lossless: one PackBits segment per byte plane (most significant first), sample by sample. Interleaved out. */
export function decodeRle(data: Uint8Array, f: FrameLayout): Uint8Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const segments = view.getUint32(0, true);
  const bytesPerSample = f.bitsAllocated / 8;
  if (segments !== f.samples * bytesPerSample) throw new Error(`RLE frame has ${segments} segments, expected ${f.samples * bytesPerSample}`);
  const pixels = f.rows * f.columns;
  const out = new Uint8Array(pixels * f.samples * bytesPerSample);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : data.length;
    const sample = Math.floor(s / bytesPerSample);
    const byte = bytesPerSample - 1 - (s % bytesPerSample); // little-endian output: MSB segment goes to the high byte
    let p = 0;
    const put = (v: number) => {
      if (p < pixels) out[(p * f.samples + sample) * bytesPerSample + byte] = v;
      p++;
    };
    for (let i = start; i < end && p < pixels; ) {
      const n = (data[i++] << 24) >> 24;
      if (n >= 0) for (let k = 0; k <= n; k++) put(data[i++]);
      else if (n !== -128) {
        const v = data[i++];
        for (let k = 0; k < 1 - n; k++) put(v);
      }
    }
    if (p < pixels) throw new Error(`RLE segment ${s + 1} is short (${p} of ${pixels} pixels)`);
  }
  return out;
}

interface WasmDecoder {
  getEncodedBuffer(n: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  readHeader?(): void;
  decode(): void;
  delete(): void;
}
const modules = new Map<string, Promise<Record<string, new () => WasmDecoder>>>();
function wasm(pkg: string): Promise<Record<string, new () => WasmDecoder>> {
  if (!modules.has(pkg))
    modules.set(pkg, (requireCodec(pkg) as (o: object) => Promise<Record<string, new () => WasmDecoder>>)({ print: () => {}, printErr: () => {} }));
  return modules.get(pkg)!;
}
const WASM = {
  jpeg: ['@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder'],
  'jpeg-ls': ['@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder'],
  j2k: ['@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder'],
} as const;

/** An APP14 "Adobe" segment saying the three components are not colour-transformed (transform 0). */
const ADOBE_RGB = Uint8Array.of(0xff, 0xee, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, 0);

/**
 * A JPEG whose PhotometricInterpretation is RGB holds RGB components (PS3.5 8.2.1), but libjpeg takes three
 * components for YCbCr unless an Adobe marker says otherwise (and always under a JFIF marker). Without a complete
 * Adobe marker, the frame's JFIF and short Adobe segments are replaced by one with transform 0 (as pydicom does).
 */
function untransformedRgb(jpeg: Uint8Array): Uint8Array {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return jpeg;
  const kept: Uint8Array[] = [];
  let at = 2;
  // APPn segments sit before the frame header; stop at the first other marker.
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff && jpeg[at + 1] >= 0xe0 && jpeg[at + 1] <= 0xef) {
    const end = at + 2 + ((jpeg[at + 2] << 8) | jpeg[at + 3]);
    const segment = jpeg.subarray(at, end);
    const adobe = segment[1] === 0xee && String.fromCharCode(...segment.subarray(4, 9)) === 'Adobe';
    if (adobe && segment.length >= 16) return jpeg; // a complete Adobe marker: its transform flag decides
    if (!adobe && segment[1] !== 0xe0) kept.push(segment);
    at = end;
  }
  return concatBytes([jpeg.subarray(0, 2), ADOBE_RGB, ...kept, jpeg.subarray(at)]);
}

/**
 * One compressed frame to interleaved little-endian samples of `bitsAllocated` bits. JPEG baseline comes back
 * as RGB when it held colour (libjpeg-turbo converts YCbCr).
 */
export async function decodeCompressed(codec: 'rle' | 'jpeg-lossless' | 'jpeg' | 'jpeg-ls' | 'j2k', frame: Uint8Array, f: FrameLayout): Promise<Uint8Array> {
  let data = frame;
  if (codec === 'rle') return decodeRle(data, f);
  if (codec === 'jpeg-lossless') {
    const { Decoder } = requireCodec('jpeg-lossless-decoder-js') as {
      Decoder: new () => { decode(b: ArrayBuffer, o: number, l: number, n: number): ArrayBufferView };
    };
    const copy = data.slice();
    const out = new Decoder().decode(copy.buffer, 0, copy.length, f.bitsAllocated / 8);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  if (codec === 'jpeg' && f.samples === 3 && f.photometric === 'RGB') data = untransformedRgb(data);
  const [pkg, cls] = WASM[codec];
  const m = await wasm(pkg);
  const d = new m[cls]();
  try {
    d.getEncodedBuffer(data.length).set(data);
    d.decode();
    return d.getDecodedBuffer().slice();
  } finally {
    d.delete();
  }
}
