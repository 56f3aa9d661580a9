// Zip archives unpacked as a stream, safely: every entry name is checked (no absolute paths, no `..`), only
// the entries `select` maps to a relative path are written, into a temporary folder renamed into place. With
// limits, the inflated bytes are counted as they come and the unpacking stops at the first breach.
import { closeSync, mkdirSync, openSync, promises as fsp, writeSync } from 'node:fs';
import path from 'node:path';
import { Unzip, UnzipInflate } from 'fflate';
import { TransferkitError } from '../errors.js';
import { tempNameFor } from '../util/fs.js';
import { type ZipLimits, ZipLimitError, entryBreach } from './zip-limits.js';

/**
 * Unpacks `chunks` (a zip) into `dest`; `select` maps an entry name to its relative output path, or null to skip
 * it (a skipped entry is never inflated). A ZipLimitError when `limits` are exceeded; nothing is left behind.
 */
export async function extractZip(
  label: string,
  chunks: AsyncIterable<Uint8Array>,
  dest: string,
  select: (name: string) => string | null,
  limits?: ZipLimits,
): Promise<number> {
  const tmp = tempNameFor(dest);
  await fsp.mkdir(tmp, { recursive: true });
  let count = 0;
  let entries = 0;
  let total = 0;
  let refused: string | undefined;
  let breach: string | undefined;
  let fd: number | null = null;
  try {
    const unzip = new Unzip((file) => {
      if (limits && ++entries > limits.maxEntries) {
        breach ??= `more than ${limits.maxEntries} entries`;
        return;
      }
      const name = file.name.replace(/\\/g, '/');
      if (name.startsWith('/') || name.split('/').includes('..') || /^[a-zA-Z]:/.test(name)) {
        refused ??= name;
        return;
      }
      const rel = select(name);
      if (!rel) return;
      const target = path.join(tmp, rel);
      // Synchronous calls: fflate hands the data over inside push().
      mkdirSync(path.dirname(target), { recursive: true });
      fd = openSync(target, 'w');
      // The local header's sizes; an entry that inflates past its own declared size is lying.
      const declared = file.originalSize;
      let inflated = 0;
      file.ondata = (err, data, final) => {
        if (err) throw err;
        if (limits) {
          inflated += data.length;
          total += data.length;
          const why =
            declared !== undefined && inflated > declared
              ? `'${name}' inflates past the ${declared} bytes it declares`
              : entryBreach(name, inflated, file.size ?? Infinity, total, limits);
          // Thrown out of push(): nothing of this chunk is written.
          if (why) throw new ZipLimitError(why);
        }
        writeSync(fd as number, data);
        if (final) {
          closeSync(fd as number);
          fd = null;
          count++;
        }
      };
      file.start();
    });
    unzip.register(UnzipInflate);
    for await (const chunk of chunks) {
      unzip.push(chunk);
      if (refused || breach) break;
    }
    if (breach) throw new ZipLimitError(breach);
    if (!refused) unzip.push(new Uint8Array(0), true);
    if (refused) throw new TransferkitError(`${label}: refused the archive entry '${refused}' (a path outside the dataset folder)`);
    await fsp.rm(dest, { recursive: true, force: true });
    await fsp.rename(tmp, dest);
    return count;
  } catch (err) {
    if (fd !== null) closeSync(fd);
    await fsp.rm(tmp, { recursive: true, force: true });
    if (err instanceof TransferkitError) throw err;
    throw new TransferkitError(`${label}: cannot unpack it (${(err as Error).message.split('\n')[0]}); is the file complete?`);
  }
}
