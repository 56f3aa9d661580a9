// Zip uploads: the body streams to a temp folder inside uploads/ (refused by its declared length before any of
// it is read, counted as it comes), unpacks there in a worker thread under caps, and the result is renamed into
// place. An existing upload is replaced only when the request says so; nothing outside uploads/ is touched.
import { createWriteStream, promises as fsp } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ZipLimits } from '../data/zip-limits.js';
import { HttpError } from './paths.js';
import type { UnzipJob, UnzipReply } from './unzip-worker.js';

export interface UploadLimits {
  /** Largest zip accepted, bytes. */
  maxUpload: number;
  /** Largest total inflated size, bytes; the cap is this or 20× the zip, whichever is lower. */
  maxUnpacked: number;
  maxEntry: number;
  maxEntries: number;
  maxRatio: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { maxUpload: 200e6, maxUnpacked: 2e9, maxEntry: 512e6, maxEntries: 100_000, maxRatio: 100 };

const SLUG = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const mb = (n: number) => `${Math.round(n / 1e6)} MB`;

/** A 413 whose connection closes once answered, so the unread rest of the body is never read. */
export const tooLarge = (message: string) => Object.assign(new HttpError(413, message), { closeConnection: true });

/** The folder uploads/ under `root`, created if needed; refused when it is a symlink or not a folder. */
async function uploadsDir(root: string): Promise<string> {
  const dir = path.join(root, 'uploads');
  await fsp.mkdir(dir, { recursive: true });
  if (!(await fsp.lstat(dir)).isDirectory()) throw new HttpError(403, "uploads/ under the UI's root is not a plain folder");
  return dir;
}

/**
 * Streams the request body into `file`, counting; over `max` it stops reading (the request is paused, not
 * drained) and rejects with a 413 that closes the connection. Returns the byte count.
 */
export function receiveBody(req: http.IncomingMessage, file: string, max: number, what = 'upload'): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const out = createWriteStream(file);
    const fail = (err: Error) => {
      req.unpipe(out);
      req.pause();
      out.destroy();
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > max) fail(tooLarge(`${what} larger than the limit of ${mb(max)}`));
    });
    req.once('close', () => !req.complete && fail(new HttpError(400, `the ${what} was cut short`)));
    out.once('error', fail);
    out.once('finish', () => resolve(received));
    req.pipe(out);
  });
}

function unzipInWorker(job: UnzipJob): Promise<UnzipReply> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./unzip-worker.js', import.meta.url), { workerData: job });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the unzip worker exited with code ${code}`)));
  });
}

/**
 * Handles `POST /api/upload?name=<slug>[&replace=1]`: the unpacked folder relative to the root and its image count.
 * `layout` class: the zip holds the images of one class (the Data tab's "add a class").
 */
export async function receiveUpload(
  req: http.IncomingMessage,
  root: string,
  url: URL,
  limits: UploadLimits,
  layout: UnzipJob['layout'] = 'dataset',
): Promise<{ path: string; images: number }> {
  const name = url.searchParams.get('name') ?? 'upload';
  if (!SLUG.test(name)) throw new HttpError(400, 'name: letters, digits, - and _ only (up to 64, starting with a letter or digit)');
  const replace = url.searchParams.get('replace') === '1';
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limits.maxUpload) throw tooLarge(`upload of ${mb(declared)} is larger than the limit of ${mb(limits.maxUpload)}`);
  const uploads = await uploadsDir(root);
  const dest = path.join(uploads, name);
  const existing = await fsp.lstat(dest).catch(() => null);
  if (existing && !existing.isDirectory()) throw new HttpError(409, `uploads/${name} exists and is not a folder; choose another name`);
  if (existing && !replace) throw new HttpError(409, `uploads/${name} exists; choose another name, or send replace=1 to replace it`);

  const work = await fsp.mkdtemp(path.join(uploads, '.upload-'));
  try {
    const zip = path.join(work, 'upload.zip');
    const received = await receiveBody(req, zip, limits.maxUpload);
    const maxTotal = Math.min(limits.maxUnpacked, 20 * received);
    const zipLimits: ZipLimits = { maxTotal, maxEntry: Math.min(limits.maxEntry, maxTotal), maxEntries: limits.maxEntries, maxRatio: limits.maxRatio };
    const reply = await unzipInWorker({ zip, dest: path.join(work, 'out'), limits: zipLimits, layout });
    if ('error' in reply) {
      if (reply.status === 500) throw new Error(reply.error);
      throw new HttpError(reply.status, reply.error);
    }
    // Replace: the old folder moves into the temp folder (deleted below) only once the new one is complete.
    if (existing) await fsp.rename(dest, path.join(work, 'old'));
    try {
      await fsp.rename(path.join(work, 'out'), dest);
    } catch (err) {
      // Another upload took the name meanwhile: its folder stays, and so does the one we moved aside.
      if (existing) await fsp.rename(path.join(work, 'old'), `${dest}-kept-${path.basename(work).slice('.upload-'.length)}`);
      if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new HttpError(409, `uploads/${name} was created meanwhile; choose another name`);
      throw err;
    }
    return { path: `uploads/${name}`, images: reply.images };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** Temp folders of uploads cut short by a stopped server. */
export async function removeStaleUploads(root: string): Promise<void> {
  const dir = path.join(root, 'uploads');
  for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory() && e.name.startsWith('.upload-')) await fsp.rm(path.join(dir, e.name), { recursive: true, force: true });
  }
}
