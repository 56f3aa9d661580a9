// Caps on what a zip may inflate to, checked twice: against the central directory before anything is inflated,
// and again while inflating (a directory can lie about sizes; the local headers can lie differently).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TransferkitError } from '../errors.js';

export interface ZipLimits {
  /** Inflated bytes of all entries together. */
  maxTotal: number;
  /** Inflated bytes of one entry. */
  maxEntry: number;
  /** Entries in the archive. */
  maxEntries: number;
  /** Inflated size over compressed size, per entry; entries that inflate to under 1 MB are exempt. */
  maxRatio: number;
}

/** Entries this small are not held to maxRatio (a tiny text file of spaces compresses very well). */
const RATIO_FLOOR = 1 << 20;

/** An archive over one of its limits: the reason says which. */
export class ZipLimitError extends TransferkitError {
  constructor(reason: string) {
    super(`archive refused: ${reason}`);
    this.name = 'ZipLimitError';
  }
}

const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;

/** The breach, if any, of an entry that inflates to `size` from `compressed` bytes, with `total` inflated so far. */
export function entryBreach(name: string, size: number, compressed: number, total: number, limits: ZipLimits): string | null {
  if (size > RATIO_FLOOR && size > compressed * limits.maxRatio) return `'${name}' inflates more than ${limits.maxRatio}× its compressed size (a zip bomb?)`;
  if (size > limits.maxEntry) return `'${name}' inflates to more than ${mb(limits.maxEntry)} (the per-entry limit)`;
  if (total > limits.maxTotal) return `the entries inflate to more than ${mb(limits.maxTotal)} in all (the total limit)`;
  return null;
}

export interface DirectoryEntry {
  name: string;
  compressed: number;
  size: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;

const u64 = (b: Buffer, at: number) => Number(b.readBigUInt64LE(at));

/** The central directory of the zip file `file`; a TransferkitError when it has none or it is malformed. */
export function readZipDirectory(file: string, maxEntries: number): DirectoryEntry[] {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const read = (at: number, length: number) => {
      const b = Buffer.alloc(length);
      if (at < 0 || at + length > size || readSync(fd, b, 0, length, at) !== length)
        throw new TransferkitError('not a zip archive (its directory points past its end)');
      return b;
    };
    // The end record: 22 bytes plus a comment of up to 65535.
    const tailStart = Math.max(0, size - 22 - 65535);
    const tail = read(tailStart, size - tailStart);
    let e = tail.length - 22;
    while (e >= 0 && tail.readUInt32LE(e) !== EOCD) e--;
    if (e < 0) throw new TransferkitError('not a zip archive (no central directory at its end)');
    let count = tail.readUInt16LE(e + 10);
    let cdSize = tail.readUInt32LE(e + 12);
    let cdOffset = tail.readUInt32LE(e + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locatorAt = tailStart + e - 20;
      const locator = read(locatorAt, 20);
      if (locator.readUInt32LE(0) !== ZIP64_LOCATOR) throw new TransferkitError('not a zip archive (a zip64 directory without its locator)');
      const end64 = read(u64(locator, 8), 56);
      if (end64.readUInt32LE(0) !== ZIP64_EOCD) throw new TransferkitError('not a zip archive (a malformed zip64 directory)');
      count = u64(end64, 32);
      cdSize = u64(end64, 40);
      cdOffset = u64(end64, 48);
    }
    if (count > maxEntries) throw new ZipLimitError(`${count} entries, more than the limit of ${maxEntries}`);
    const cd = read(cdOffset, cdSize);
    const entries: DirectoryEntry[] = [];
    for (let at = 0; entries.length < count; ) {
      if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL) throw new TransferkitError('not a zip archive (a malformed central directory)');
      const nameLength = cd.readUInt16LE(at + 28);
      const extraLength = cd.readUInt16LE(at + 30);
      const commentLength = cd.readUInt16LE(at + 32);
      let compressed = cd.readUInt32LE(at + 20);
      let inflated = cd.readUInt32LE(at + 24);
      const name = cd.toString('utf8', at + 46, at + 46 + nameLength);
      // Zip64: the 8-byte sizes sit in extra field 0x0001, in order, for the fields that are 0xffffffff.
      for (let x = at + 46 + nameLength; x + 4 <= at + 46 + nameLength + extraLength; ) {
        const id = cd.readUInt16LE(x);
        const length = cd.readUInt16LE(x + 2);
        if (id === 1) {
          let v = x + 4;
          if (inflated === 0xffffffff && v + 8 <= x + 4 + length) {
            inflated = u64(cd, v);
            v += 8;
          }
          if (compressed === 0xffffffff && v + 8 <= x + 4 + length) compressed = u64(cd, v);
        }
        x += 4 + length;
      }
      entries.push({ name, compressed, size: inflated });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    closeSync(fd);
  }
}

/** Refuses (ZipLimitError) an archive whose directory already declares more than the limits allow. */
export function checkZipDirectory(file: string, limits: ZipLimits): DirectoryEntry[] {
  const entries = readZipDirectory(file, limits.maxEntries);
  let total = 0;
  for (const e of entries) {
    total += e.size;
    const breach = entryBreach(e.name, e.size, e.compressed, total, limits);
    if (breach) throw new ZipLimitError(`${breach}, by its directory`);
  }
  return entries;
}
