// Unpacks an uploaded zip off the server's event loop (a worker thread), so the page's other requests are
// answered meanwhile. The directory is checked against the limits first, then the entries are inflated one
// small read at a time (a 16 KB read of a zip bomb inflates to at most ~16 MB before the caps are checked).
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { IMAGE_EXTENSIONS } from '../data/formats.js';
import { extractZip } from '../data/unzip.js';
import { type ZipLimits, ZipLimitError, checkZipDirectory } from '../data/zip-limits.js';
import { TransferkitError } from '../errors.js';

export interface UnzipJob {
  zip: string;
  dest: string;
  limits: ZipLimits;
  /** dataset: class folders of images; class: the images of one class, in folders or not (default dataset). */
  layout?: 'dataset' | 'class';
}
export type UnzipReply = { images: number } | { status: number; error: string };

/** An entry's path parts when it is an image (hidden files and folders, and other files, are skipped). */
function imageParts(entry: string): string[] | null {
  const parts = entry.split('/').filter(Boolean);
  return parts.some((p) => p.startsWith('.')) || !IMAGE_EXTENSIONS.includes(path.extname(entry).toLowerCase()) ? null : parts;
}

/** `<class>/<image>` or `<folder>/<class>/<image>` entries, as `<class>/<image>`. */
function datasetEntry(entry: string): string | null {
  const parts = imageParts(entry);
  return parts?.length === 2 ? parts.join('/') : parts?.length === 3 ? parts.slice(1).join('/') : null;
}

/** Any image entry of a class's zip, flattened to one folder (its folders kept in the name, so none collide). */
function classEntry(entry: string): string | null {
  return imageParts(entry)?.join('_') ?? null;
}

async function unpack({ zip, dest, limits, layout }: UnzipJob): Promise<UnzipReply> {
  try {
    checkZipDirectory(zip, limits);
    const images = await extractZip(
      'the upload',
      createReadStream(zip, { highWaterMark: 16 * 1024 }) as AsyncIterable<Uint8Array>,
      dest,
      layout === 'class' ? classEntry : datasetEntry,
      limits,
    );
    return { images };
  } catch (err) {
    const status = err instanceof ZipLimitError ? 413 : err instanceof TransferkitError ? 400 : 500;
    return { status, error: (err as Error).message.split('\n')[0] };
  }
}

if (parentPort) parentPort.postMessage(await unpack(workerData as UnzipJob));
