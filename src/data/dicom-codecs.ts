// Decoders for DICOM's compressed transfer syntaxes: RLE (PS3.5 Annex G) here, JPEG lossless with
// jpeg-lossless-decoder-js, and the rest with Cornerstone's WebAssembly builds of libjpeg-turbo, CharLS and OpenJPEG.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface FrameLayout {
  rows: number;
  columns: number;
  samples: number;
  bitsAllocated: number;
  signed: boolean;
}

/** Transfer syntax UIDs transferkit decodes, by codec. */
export const SYNTAXES: Record<string, 'raw' | 'raw-be' | 'rle' | 'jpeg-lossless' | 'jpeg' | 'jpeg-ls' | 'j2k'> = {
  '1.2.840.10008.1.2': 'raw',
  '1.2.840.10008.1.2.1': 'raw',
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
    modules.set(pkg, (require(pkg) as (o: object) => Promise<Record<string, new () => WasmDecoder>>)({ print: () => {}, printErr: () => {} }));
  return modules.get(pkg)!;
}
const WASM = {
  jpeg: ['@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder'],
  'jpeg-ls': ['@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder'],
  j2k: ['@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder'],
} as const;

/**
 * One compressed frame to interleaved little-endian samples of `bitsAllocated` bits. JPEG baseline comes back
 * as RGB when it held colour (libjpeg-turbo converts YCbCr).
 */
export async function decodeCompressed(codec: 'rle' | 'jpeg-lossless' | 'jpeg' | 'jpeg-ls' | 'j2k', data: Uint8Array, f: FrameLayout): Promise<Uint8Array> {
  if (codec === 'rle') return decodeRle(data, f);
  if (codec === 'jpeg-lossless') {
    const { Decoder } = require('jpeg-lossless-decoder-js') as {
      Decoder: new () => { decode(b: ArrayBuffer, o: number, l: number, n: number): ArrayBufferView };
    };
    const copy = data.slice();
    const out = new Decoder().decode(copy.buffer, 0, copy.length, f.bitsAllocated / 8);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
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
