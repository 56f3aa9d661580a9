// Damage inside containers, where a byte flip rarely reaches: zip entries (with decompression bombs that are
// small on disk), TIFF tags and strips, HDF5 length fields.
import { constants, crc32, deflateRawSync, deflateSync } from 'node:zlib';
import { type Rng, int, pick } from './mutate.js';

export interface ZipEntry {
  name: string;
  /** The bytes as stored (deflated when `deflated`). */
  stored: Buffer;
  deflated: boolean;
  /** The inflated size the headers declare. */
  size: number;
  crc: number;
}

export const plainEntry = (name: string, data: Buffer): ZipEntry => ({ name, stored: data, deflated: false, size: data.length, crc: crc32(data) });

/**
 * Raw deflate of `total` zero bytes without ever holding them: a 1 MiB block flushed to a byte boundary
 * (independent of what came before) repeated, then an empty final block. About 1 KB on disk per MiB.
 */
export function deflatedZeros(total: number, fill = 0): Buffer {
  const mib = 1 << 20;
  const block = deflateRawSync(Buffer.alloc(mib, fill), { flush: constants.Z_FULL_FLUSH, finishFlush: constants.Z_FULL_FLUSH });
  const end = deflateRawSync(Buffer.alloc(0));
  return Buffer.concat([...Array(Math.ceil(total / mib)).fill(block), end]);
}

/** A zip of `entries` (local headers, central directory, end record; no zip64). */
export function writeZip(entries: ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.deflated ? 8 : 0, 8);
    local.writeUInt32LE(e.crc >>> 0, 14);
    local.writeUInt32LE(e.stored.length, 18);
    local.writeUInt32LE(e.size >>> 0, 22);
    local.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(e.deflated ? 8 : 0, 10);
    dir.writeUInt32LE(e.crc >>> 0, 16);
    dir.writeUInt32LE(e.stored.length, 20);
    dir.writeUInt32LE(e.size >>> 0, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, name, e.stored);
    central.push(dir, name);
    offset += 30 + name.length + e.stored.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(entries.length, 0xffff), 8);
  end.writeUInt16LE(Math.min(entries.length, 0xffff), 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

/** A zip entry that inflates to `size` bytes of `fill` (declaring `declared`, which may lie). */
export function bombEntry(name: string, size: number, declared = size, fill = 0x20): ZipEntry {
  return { name, stored: deflatedZeros(size, fill), deflated: true, size: Math.min(declared, 0xfffffffe), crc: 0 };
}

/** The zip-level mutations of a model zip made of `entries`. */
export function mutateZip(rng: Rng, entries: ZipEntry[], target: string): { label: string; bytes: Buffer } {
  const others = entries.filter((e) => e.name !== target);
  switch (int(rng, 0, 6)) {
    case 0: {
      const size = pick(rng, [3 * 2 ** 30, 2 ** 31, 600 * 2 ** 20]);
      const declared = rng() < 0.5 ? size : 1000;
      return { label: `bomb ${target} ${size}B declared ${declared}`, bytes: writeZip([...others, bombEntry(target, size, declared)]) };
    }
    case 1:
      return { label: `without ${target}`, bytes: writeZip(others) };
    case 2: {
      const name = pick(rng, [`../../${target}`, `/${target}`, `C:\\${target}`, `${target}/`, `a/../../${target}`]);
      return { label: `entry named ${name}`, bytes: writeZip([...others, { ...entries.find((e) => e.name === target)!, name }]) };
    }
    case 3: {
      const entry = entries.find((e) => e.name === target)!;
      return { label: `${target} twice`, bytes: writeZip([...entries, { ...entry, stored: Buffer.from('{}'), size: 2, crc: crc32(Buffer.from('{}')) }]) };
    }
    case 4: {
      const count = pick(rng, [70000, 20000]);
      const tiny = plainEntry('x', Buffer.alloc(0));
      return { label: `${count} extra entries`, bytes: writeZip([...entries, ...Array.from({ length: count }, (_, i) => ({ ...tiny, name: `x${i}` }))]) };
    }
    case 5: {
      const lie = pick(rng, [0, 1, 0xfffffffe]);
      return { label: `${target} declares ${lie} bytes`, bytes: writeZip(entries.map((e) => (e.name === target ? { ...e, size: lie } : e))) };
    }
    default: {
      const entry = entries.find((e) => e.name === target)!;
      const cut = entry.stored.subarray(0, int(rng, 0, entry.stored.length - 1));
      return { label: `${target} cut to ${cut.length}`, bytes: writeZip(entries.map((e) => (e === entry ? { ...e, stored: cut } : e))) };
    }
  }
}

/** A little-endian TIFF's first IFD: tag → entry offset in the file. */
export function tiffTags(b: Buffer): Map<number, number> {
  const tags = new Map<number, number>();
  const ifd = b.readUInt32LE(4);
  const n = b.readUInt16LE(ifd);
  for (let i = 0; i < n; i++) tags.set(b.readUInt16LE(ifd + 2 + i * 12), ifd + 2 + i * 12);
  return tags;
}

const TAG = {
  width: 256,
  height: 257,
  bits: 258,
  compression: 259,
  offsets: 273,
  spp: 277,
  rows: 278,
  counts: 279,
  tileWidth: 322,
  tileOffsets: 324,
  tileCounts: 325,
  format: 339,
};

/** One TIFF-aware mutation of a little-endian TIFF `src`: absurd tag counts and values, strip bombs, IFD loops. */
export function mutateTiff(rng: Rng, src: Buffer): { label: string; bytes: Buffer } {
  let b = Buffer.from(src);
  const tags = tiffTags(b);
  const entry = (tag: number) => tags.get(tag);
  const kind = int(rng, 0, 7);
  if (kind === 0) {
    // A deflated strip (or tile) that inflates to gigabytes, appended and pointed at.
    const size = pick(rng, [2 ** 31, 600 * 2 ** 20]);
    const bomb = deflateSync(Buffer.alloc(0)).subarray(0, 2);
    const body = Buffer.concat([bomb, deflatedZeros(size)]);
    const off = entry(TAG.offsets) ?? entry(TAG.tileOffsets);
    const cnt = entry(TAG.counts) ?? entry(TAG.tileCounts);
    const comp = entry(TAG.compression);
    if (off === undefined || cnt === undefined || comp === undefined) return { label: 'no strips', bytes: b };
    const at = b.length;
    b = Buffer.concat([b, body]);
    b.writeUInt16LE(8, comp + 8);
    // Point every strip at the bomb (count 1 keeps the value inline).
    const firstValue = (e: number) => (b.readUInt32LE(e + 4) === 1 ? e + 8 : b.readUInt32LE(e + 8));
    const n = b.readUInt32LE(off + 4);
    const short = (e: number) => b.readUInt16LE(e + 2) === 3;
    for (let i = 0; i < n; i++) {
      const o = firstValue(off) + i * (short(off) ? 2 : 4);
      const c = firstValue(cnt) + i * (short(cnt) ? 2 : 4);
      if (short(off)) continue;
      b.writeUInt32LE(at, o);
      if (short(cnt)) b.writeUInt16LE(Math.min(body.length, 0xffff), c);
      else b.writeUInt32LE(body.length, c);
    }
    return { label: `strip bomb ${size}B`, bytes: b };
  }
  if (kind === 1) {
    // A loop of IFDs: the next-IFD pointer leads back to the first.
    const ifd = b.readUInt32LE(4);
    const n = b.readUInt16LE(ifd);
    b.writeUInt32LE(ifd, ifd + 2 + n * 12);
    return { label: 'ifd loop', bytes: b };
  }
  const tag = pick(
    rng,
    Object.values(TAG).filter((t) => tags.has(t)),
  );
  const e = entry(tag)!;
  if (kind <= 3) {
    const count = pick(rng, [2 ** 31, 0xffffffff, 0, 2 ** 28]);
    b.writeUInt32LE(count, e + 4);
    return { label: `tag ${tag} count ${count}`, bytes: b };
  }
  if (kind === 4) {
    b.writeUInt16LE(pick(rng, [0, 13, 99, 0xffff]), e + 2);
    return { label: `tag ${tag} bad type`, bytes: b };
  }
  const value = pick(rng, [0, 1, 0xffff, 0x7fffffff, 0xffffffff, 2 ** 31]);
  if (b.readUInt16LE(e + 2) === 3 && value <= 0xffff) b.writeUInt16LE(value, e + 8);
  else b.writeUInt32LE(value >>> 0, e + 8);
  return { label: `tag ${tag} = ${value}`, bytes: b };
}

/** HDF5 structures whose length field sits 8 bytes after their signature (global heap, local heap). */
const H5_SIGNATURES = ['GCOL', 'HEAP', 'TREE', 'SNOD', 'OHDR', 'FRHP', 'FHDB', 'BTHD'];

/** An HDF5 length field (heap collection size and the like) set to an absurd value. */
export function mutateHdf5(rng: Rng, src: Buffer): { label: string; bytes: Buffer } {
  const b = Buffer.from(src);
  const sig = pick(rng, H5_SIGNATURES);
  const hits: number[] = [];
  for (let at = b.indexOf(sig); at >= 0 && hits.length < 200; at = b.indexOf(sig, at + 4)) hits.push(at);
  if (hits.length === 0) return { label: `no ${sig}`, bytes: b };
  const at = pick(rng, hits);
  const value = pick(rng, [2n ** 40n, 2n ** 31n, 2n ** 63n - 1n, 0n, 0xffffffffn]);
  if (at + 16 <= b.length) b.writeBigUInt64LE(value, at + 8);
  return { label: `${sig}@${at} length ${value}`, bytes: b };
}

/** A PNG whose IHDR declares absurd dimensions, its CRC fixed so the decoder believes it. */
export function pngDimensions(rng: Rng, src: Buffer): { label: string; bytes: Buffer } {
  const b = Buffer.from(src);
  const w = pick(rng, [0x7fffffff, 65535, 0, 1 << 20]);
  const h = pick(rng, [0x7fffffff, 65535, 0, 1 << 20]);
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b.writeUInt32BE(crc32(b.subarray(12, 29)) >>> 0, 29);
  return { label: `png ${w}x${h}`, bytes: b };
}

/** A JPEG whose frame header (SOF0/SOF2) declares absurd dimensions. */
export function jpegDimensions(rng: Rng, src: Buffer): { label: string; bytes: Buffer } {
  const b = Buffer.from(src);
  for (let at = 2; at + 9 < b.length; ) {
    if (b[at] !== 0xff) break;
    const marker = b[at + 1];
    if (marker === 0xc0 || marker === 0xc2) {
      b.writeUInt16BE(pick(rng, [65535, 0, 1]), at + 5);
      b.writeUInt16BE(pick(rng, [65535, 0, 1]), at + 7);
      return { label: `jpeg ${b.readUInt16BE(at + 7)}x${b.readUInt16BE(at + 5)}`, bytes: b };
    }
    at += 2 + b.readUInt16BE(at + 2);
  }
  return { label: 'jpeg without SOF', bytes: b };
}
