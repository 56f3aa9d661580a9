// A fast path for small plain JPEGs: libvips costs ~0.9 ms of CPU per image whatever its size, which dominates
// extraction on CIFAR-sized images; libjpeg-turbo's decoder compiled to wasm (mozjpeg, through @jsquash/jpeg)
// takes ~0.06 ms. Only files that need no rotation or colour management take it, at the model's size or (up
// to 128×128 px) enlarged bilinearly (enlarge.ts reproduces sharp's enlargement), and its output is the same as
// sharp's byte for byte (checked on all 10,000 CIFAR-10 test JPEGs, as they are and enlarged to 96×96).
// Anything it complains about goes to sharp, which decides as before.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Interpolation } from './decode-types.js';
import { enlargeRgbaLikeVips } from './enlarge.js';

interface MozJpeg {
  decode(data: Uint8Array, preserveOrientation: boolean): { data: Uint8ClampedArray; width: number; height: number } | null;
}
type Factory = (options: Record<string, unknown>) => Promise<MozJpeg>;

let decoder: Promise<MozJpeg> | undefined;
let complaints: string[] = [];

function loadDecoder(): Promise<MozJpeg> {
  decoder ??= (async () => {
    const require = createRequire(import.meta.url);
    const dir = require.resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
    const wasm = await WebAssembly.compile(await readFile(dir));
    const factory = (await import('@jsquash/jpeg/codec/dec/mozjpeg_dec.js' as string)).default as Factory;
    const quiet = (m: string) => void complaints.push(m);
    return factory({
      noInitialRun: true,
      print: quiet,
      printErr: quiet,
      instantiateWasm: (imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) => {
        const instance = new WebAssembly.Instance(wasm, imports);
        done(instance);
        return instance.exports;
      },
    });
  })();
  return decoder;
}

/** What the markers before the scan say: size, components, and whether EXIF or an ICC profile is present. */
export function jpegHeader(bytes: Uint8Array): { width: number; height: number; components: number; extras: boolean } | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  if (bytes[bytes.length - 2] !== 0xff || bytes[bytes.length - 1] !== 0xd9) return null;
  let extras = false;
  for (let i = 2; i + 4 <= bytes.length; ) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    // APP1 (EXIF: orientation), APP2 (ICC profile), APP14 (Adobe: CMYK or no colour transform).
    if (marker === 0xe1 || marker === 0xe2 || marker === 0xee) extras = true;
    const sof = marker >= 0xc0 && marker <= 0xc2;
    if (sof && i + 10 <= bytes.length) {
      return { height: (bytes[i + 5] << 8) | bytes[i + 6], width: (bytes[i + 7] << 8) | bytes[i + 8], components: bytes[i + 9], extras };
    }
    if (marker === 0xda || (marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)) return null;
    i += 2 + length;
  }
  return null;
}

/**
 * The largest JPEG (in pixels) enlarged here: past ~200×200 the wasm decoder on the main thread costs about as
 * much CPU as sharp, which decodes several at once on libuv's threads (measured: 128 px 0.46 ms vs 1.18 ms of
 * CPU, 256 px 1.8 vs 2.3, 500 px 6.1 vs 6.5).
 */
const SMALL = 128 * 128;

/**
 * RGB pixels (0–255 as float32) of a plain JPEG at height × width, or null where sharp must decode it: a
 * JPEG larger than that on either side, or smaller on one side only, or past `SMALL` pixels and smaller, or
 * enlarged with another filter than bilinear; EXIF, an ICC profile, not 3 components, or any complaint from
 * the decoder.
 */
export async function decodePlainJpeg(
  bytes: Uint8Array,
  height: number,
  width: number,
  interpolation: Interpolation = 'bilinear',
): Promise<Float32Array | null> {
  const header = jpegHeader(bytes);
  if (!header || header.extras || header.components !== 3) return null;
  const same = header.height === height && header.width === width;
  const enlarge = interpolation === 'bilinear' && header.height < height && header.width < width && header.height * header.width <= SMALL;
  if (!same && !enlarge) return null;
  const jpeg = await loadDecoder();
  complaints = [];
  let image;
  try {
    image = jpeg.decode(bytes, false);
  } catch {
    decoder = undefined; // an aborted wasm instance is not reused
    return null;
  }
  if (!image || complaints.length > 0 || image.width !== header.width || image.height !== header.height) return null;
  const rgba = image.data;
  if (enlarge) return enlargeRgbaLikeVips(rgba, header.height, header.width, height, width);
  const out = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < out.length; i += 3, j += 4) {
    out[i] = rgba[j];
    out[i + 1] = rgba[j + 1];
    out[i + 2] = rgba[j + 2];
  }
  return out;
}
