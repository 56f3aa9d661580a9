// A TIFF's structure checked from its own bytes before the `geotiff` package reads it: that package trusts tag
// counts (a BitsPerSample count of 2^31 allocates gigabytes), SamplesPerPixel 0 and IFD loops. Every tag's
// values must lie inside the file, the image's sizes must be sane, and no strip or tile may decode to more than
// MAX_BLOCK_BYTES (so a deflated strip cannot inflate to gigabytes: see boundedInflate).
import { TransferkitError } from '../errors.js';
import { inflateBounded, openFile } from './native-io.js';

/** Bytes one strip or tile may decode to: GDAL writes 8 KB strips and 256×256 tiles; whole-image strips of large scenes stay under it. */
export const MAX_BLOCK_BYTES = 512 * 2 ** 20;
/** Pixels one side of an image may have. */
const MAX_SIDE = 1 << 20;
const MAX_IFDS = 1000;

/** Bytes per value of each TIFF field type (BYTE … IFD8). */
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };

const TAG = { width: 256, height: 257, bits: 258, spp: 277, rows: 278, tileWidth: 322, tileLength: 323, planar: 284 };
const OFFSETS = { strips: 273, stripCounts: 279, tiles: 324, tileCounts: 325 };

interface Reader {
  size: number;
  bytes(at: number, length: number): Uint8Array;
}

const outOfFile = (at: number, size: number) =>
  new TransferkitError(`a TIFF structure at byte ${at} runs past the end of the file (${size} bytes); truncated or damaged`);

/** Reads `read(at, length)` bytes of a file (or of bytes in memory) of `size` bytes, refusing reads past its end. */
function reader(size: number, read: (at: number, length: number) => Uint8Array): Reader {
  return {
    size,
    bytes(at, length) {
      if (at < 0 || length < 0 || at + length > size) throw outOfFile(at, size);
      return read(at, length);
    },
  };
}

/** The first image's numeric tags that size its pixels (first value of each, and BitsPerSample's all). */
interface ImageTags {
  values: Map<number, number[]>;
  /** Every tag's value count. */
  counts: Map<number, number>;
}

function readIfds(r: Reader): ImageTags {
  const head = r.bytes(0, Math.min(16, r.size));
  const order = String.fromCharCode(head[0], head[1]);
  if (order !== 'II' && order !== 'MM') throw new TransferkitError('not a TIFF file (no byte-order mark)');
  const le = order === 'II';
  const view = (b: Uint8Array, at: number, n: number) => {
    if (at + n > b.length) throw outOfFile(at, b.length);
    return new DataView(b.buffer, b.byteOffset + at, n);
  };
  const u16 = (b: Uint8Array, at: number) => view(b, at, 2).getUint16(0, le);
  const u32 = (b: Uint8Array, at: number) => view(b, at, 4).getUint32(0, le);
  const u64 = (b: Uint8Array, at: number) => Number(view(b, at, 8).getBigUint64(0, le));
  const magic = u16(head, 2);
  if (magic !== 42 && magic !== 43) throw new TransferkitError(`not a TIFF file (version ${magic})`);
  const big = magic === 43;
  const [countSize, entrySize, inline] = big ? [8, 20, 8] : [2, 12, 4];
  let next = big ? u64(head, 8) : u32(head, 4);
  const seen = new Set<number>();
  let first: ImageTags | undefined;
  while (next !== 0) {
    if (seen.has(next)) throw new TransferkitError('its image directories form a loop; the file is damaged');
    if (seen.size >= MAX_IFDS) throw new TransferkitError(`more than ${MAX_IFDS} image directories; the file is damaged`);
    seen.add(next);
    const countBytes = r.bytes(next, countSize);
    const n = big ? u64(countBytes, 0) : u16(countBytes, 0);
    const ifd = r.bytes(next + countSize, n * entrySize + inline);
    const values = new Map<number, number[]>();
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const e = i * entrySize;
      const tag = u16(ifd, e);
      const type = u16(ifd, e + 2);
      const count = big ? u64(ifd, e + 4) : u32(ifd, e + 4);
      const size = TYPE_SIZE[type];
      if (size === undefined) continue; // Readers skip unknown types (TIFF 6.0).
      counts.set(tag, count);
      const bytes = count * size;
      const valueAt = e + (big ? 12 : 8);
      const offset = bytes <= inline ? -1 : big ? u64(ifd, valueAt) : u32(ifd, valueAt);
      if (bytes > r.size || (offset >= 0 && offset + bytes > r.size))
        throw new TransferkitError(`tag ${tag} claims ${count} values (${bytes} bytes), more than the file holds; the file is damaged`);
      if (!first && Object.values(TAG).includes(tag) && (type === 3 || type === 4 || type === 16) && count <= 64) {
        const data = offset < 0 ? ifd.subarray(valueAt, valueAt + bytes) : r.bytes(offset, bytes);
        const read = (k: number) => (type === 3 ? u16(data, k * 2) : type === 4 ? u32(data, k * 4) : u64(data, k * 8));
        values.set(
          tag,
          Array.from({ length: count }, (_, k) => read(k)),
        );
      } else if (!first && (tag === TAG.bits || tag === TAG.spp) && count > 64) {
        throw new TransferkitError(`tag ${tag} has ${count} values (at most 64 bands are read); the file is damaged`);
      }
    }
    first ??= { values, counts };
    const tail = n * entrySize;
    next = big ? u64(ifd, tail) : u32(ifd, tail);
  }
  if (!first) throw new TransferkitError('no image directory; the file is damaged');
  return first;
}

/** Checks `file`'s TIFF structure; a TransferkitError (without the file name, which the caller adds) says what is wrong. */
export function checkTiff(file: string): void {
  const f = openFile(file);
  try {
    checkTags(reader(f.size, f.read));
  } finally {
    f.close();
  }
}

/** Checks the TIFF structure of bytes in memory (a file picked in a page), as `checkTiff` checks a file. */
export const checkTiffBytes = (b: Uint8Array): void => checkTags(reader(b.length, (at, n) => b.subarray(at, at + n)));

function checkTags(r: Reader): void {
  const { values, counts } = readIfds(r);
  const one = (tag: number, name: string, fallback?: number) => {
    const v = values.get(tag)?.[0] ?? fallback;
    if (v === undefined) throw new TransferkitError(`no ${name} tag; the file is damaged`);
    return v;
  };
  const width = one(TAG.width, 'ImageWidth');
  const height = one(TAG.height, 'ImageLength');
  const bands = one(TAG.spp, 'SamplesPerPixel', 1);
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE)
    throw new TransferkitError(`an image of ${width}×${height} pixels; the file is damaged`);
  if (bands < 1 || bands > 64) throw new TransferkitError(`SamplesPerPixel is ${bands} (1 to 64 are read); the file is damaged`);
  const bits = values.get(TAG.bits) ?? [1];
  if (bits.some((b) => ![1, 8, 16, 32, 64].includes(b))) throw new TransferkitError(`BitsPerSample ${bits.join(',')} is not one of 1, 8, 16, 32, 64`);
  const tiled = values.has(TAG.tileWidth);
  const blockW = tiled ? one(TAG.tileWidth, 'TileWidth') : width;
  const blockH = tiled ? one(TAG.tileLength, 'TileLength') : Math.min(one(TAG.rows, 'RowsPerStrip', height) || height, height);
  if (blockW < 1 || blockH < 1 || blockW > MAX_SIDE || blockH > MAX_SIDE)
    throw new TransferkitError(`blocks of ${blockW}×${blockH} pixels; the file is damaged`);
  // One offset and one byte count per strip or tile (per band when the bands are planar).
  const planes = values.get(TAG.planar)?.[0] === 2 ? bands : 1;
  const blocks = Math.ceil(width / blockW) * Math.ceil(height / blockH) * planes;
  const [offsets, sizes] = tiled ? [OFFSETS.tiles, OFFSETS.tileCounts] : [OFFSETS.strips, OFFSETS.stripCounts];
  for (const tag of [offsets, sizes])
    if (counts.get(tag) !== blocks)
      throw new TransferkitError(`tag ${tag} lists ${counts.get(tag) ?? 0} ${tiled ? 'tiles' : 'strips'}, the image has ${blocks}; the file is damaged`);
  const sampleBits = Math.max(...bits) * bands;
  if ((blockW * blockH * sampleBits) / 8 > MAX_BLOCK_BYTES)
    throw new TransferkitError(`a strip or tile decodes to more than ${MAX_BLOCK_BYTES / 2 ** 20} MB; re-save it tiled (gdal_translate -co TILED=YES)`);
}

/**
 * A deflated strip or tile inflated to at most the bytes its block can hold (`limit`): a stream that inflates
 * further is refused as soon as it passes the limit, so a small file cannot inflate to gigabytes.
 */
export function boundedInflate(buffer: ArrayBufferLike, limit: number): ArrayBuffer {
  let out: Uint8Array;
  try {
    out = inflateBounded(new Uint8Array(buffer), Math.max(1, limit));
  } catch (err) {
    const why = (err as Error).message;
    if (why === 'too large') throw new TransferkitError(`a deflated strip inflates past the ${limit} bytes its block holds (a decompression bomb?)`);
    throw new TransferkitError(why.startsWith('corrupt') ? `a deflated strip is damaged (${why.slice(9) || why})` : why);
  }
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.length) as ArrayBuffer;
}

/**
 * TIFF's LZW (9–12-bit codes, most significant bit first, the early change) decoded into at most `limit` bytes:
 * a damaged or hostile strip stops at its block's size instead of growing without end.
 */
export function boundedLzw(buffer: ArrayBufferLike, limit: number): ArrayBuffer {
  const input = new Uint8Array(buffer);
  const out = new Uint8Array(limit);
  let length = 0;
  // The table: each code's last byte, its prefix code, and its string's length.
  const suffix = new Uint8Array(4096);
  const prefix = new Int16Array(4096);
  const size = new Uint16Array(4096);
  for (let i = 0; i < 256; i++) {
    suffix[i] = i;
    prefix[i] = -1;
    size[i] = 1;
  }
  let next = 258;
  let width = 9;
  let previous = -1;
  let bit = 0;
  const totalBits = input.length * 8;
  const emit = (code: number): number => {
    const n = size[code];
    if (length + n > limit) throw new TransferkitError(`an LZW strip decodes past the ${limit} bytes its block holds; the file is damaged`);
    for (let c = code, i = length + n - 1; c >= 0; c = prefix[c], i--) out[i] = suffix[c];
    length += n;
    return out[length - n];
  };
  while (bit + width <= totalBits) {
    let code = 0;
    for (let i = 0; i < width; i++, bit++) code = (code << 1) | ((input[bit >> 3] >> (7 - (bit & 7))) & 1);
    if (code === 257) break;
    if (code === 256) {
      next = 258;
      width = 9;
      previous = -1;
      continue;
    }
    if (previous < 0) {
      if (code > 255) throw new TransferkitError('an LZW strip starts with an undefined code; the file is damaged');
      emit(code);
    } else if (code < next) {
      const first = emit(code);
      if (next < 4096) {
        suffix[next] = first;
        prefix[next] = previous;
        size[next] = size[previous] + 1;
        next++;
      }
    } else if (code === next && next < 4096) {
      // The string just added: the previous one and its own first byte.
      let first = previous;
      while (prefix[first] >= 0) first = prefix[first];
      suffix[next] = suffix[first];
      prefix[next] = previous;
      size[next] = size[previous] + 1;
      next++;
      emit(code);
    } else throw new TransferkitError('an LZW strip uses an undefined code; the file is damaged');
    previous = code;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return out.buffer.slice(0, length);
}
