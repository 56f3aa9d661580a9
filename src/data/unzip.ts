// Zip archives unpacked as a stream, safely: every entry name is checked (no absolute paths, no `..`), only
// the entries `select` maps to a relative path are written, into a temporary folder renamed into place.
import { closeSync, mkdirSync, openSync, promises as fsp, writeSync } from 'node:fs';
import path from 'node:path';
import { Unzip, UnzipInflate } from 'fflate';
import { TransferkitError } from '../errors.js';
import { tempNameFor } from '../util/fs.js';

/** Unpacks `chunks` (a zip) into `dest`; `select` maps an entry name to its relative output path, or null to skip it. */
export async function extractZip(label: string, chunks: AsyncIterable<Uint8Array>, dest: string, select: (name: string) => string | null): Promise<number> {
  const tmp = tempNameFor(dest);
  await fsp.mkdir(tmp, { recursive: true });
  let count = 0;
  let refused: string | undefined;
  try {
    const unzip = new Unzip((file) => {
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
      const fd = openSync(target, 'w');
      file.ondata = (err, data, final) => {
        if (err) throw err;
        writeSync(fd, data);
        if (final) {
          closeSync(fd);
          count++;
        }
      };
      file.start();
    });
    unzip.register(UnzipInflate);
    for await (const chunk of chunks) {
      unzip.push(chunk);
      if (refused) break;
    }
    if (!refused) unzip.push(new Uint8Array(0), true);
    if (refused) throw new TransferkitError(`${label}: refused the archive entry '${refused}' (a path outside the dataset folder)`);
    await fsp.rm(dest, { recursive: true, force: true });
    await fsp.rename(tmp, dest);
    return count;
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    if (err instanceof TransferkitError) throw err;
    throw new TransferkitError(`${label}: cannot unpack it (${(err as Error).message.split('\n')[0]}); is the file complete?`);
  }
}
