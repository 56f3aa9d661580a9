import { createHash } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import { TransferkitError } from '../errors.js';
import { tempNameFor } from './fs.js';
import { ProgressBar } from './progress.js';
import { type FileHashes, type RemoteFile, hashMismatch } from './remote-file.js';

/** Seconds to wait for a server to answer, and for the next chunk of a download. */
function timeoutMs(): number {
  const s = Number(process.env.TRANSFERKIT_DOWNLOAD_TIMEOUT ?? 20);
  return (Number.isFinite(s) && s > 0 ? s : 20) * 1000;
}

/** The URL to fetch: the published one, or the same file on a mirror named by `TRANSFERKIT_MIRROR`. */
export function downloadUrl(remote: RemoteFile): string {
  const mirror = process.env.TRANSFERKIT_MIRROR;
  return mirror ? `${mirror.replace(/\/+$/, '')}/${remote.file}` : remote.url;
}

function offlineHint(remote: RemoteFile): string {
  return `download it elsewhere and run: ${remote.importCommand ?? `transferkit weights import ${remote.file}`}`;
}

/**
 * Downloads `remote` to `dest` with a progress bar: into a temporary file beside `dest`, hash-checked, then
 * renamed. A failed, cut-off or mismatched download leaves nothing at `dest` and says why.
 */
export async function downloadFile(remote: RemoteFile, dest: string): Promise<FileHashes> {
  const tmp = tempNameFor(dest);
  const limit = timeoutMs();
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), limit);
  const url = downloadUrl(remote);
  const fail = (why: string) => new TransferkitError(`cannot download ${remote.file} from ${url}: ${why}; ${offlineHint(remote)}`);
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw fail(controller.signal.aborted ? `no answer in ${limit / 1000}s` : (cause?.code ?? cause?.message ?? (err as Error).message));
    }
    if (!response.ok || !response.body) throw fail(`the server answered ${response.status} ${response.statusText}`);
    const total = Number(response.headers.get('content-length')) || undefined;
    const bar = new ProgressBar({ label: `Downloading ${remote.file}`, total, unit: 'bytes' });
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    let bytes = 0;
    const out = createWriteStream(tmp);
    const closed = new Promise<void>((resolve, reject) => {
      out.on('close', resolve);
      out.on('error', reject);
    });
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), limit);
        md5.update(chunk);
        sha256.update(chunk);
        bytes += chunk.length;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        bar.tick(chunk.length);
      }
    } catch (err) {
      throw fail(`the transfer broke off after ${bytes} bytes (${controller.signal.aborted ? 'stalled' : (err as Error).message})`);
    } finally {
      out.end();
      await closed;
    }
    if (total !== undefined && bytes !== total) throw fail(`the transfer ended after ${bytes} of ${total} bytes`);
    bar.finish();
    const hashes = { md5: md5.digest('hex'), sha256: sha256.digest('hex'), bytes };
    const mismatch = hashMismatch(remote, hashes);
    if (mismatch) throw fail(`the file's hash does not match (${mismatch})`);
    await fsp.rename(tmp, dest);
    return hashes;
  } finally {
    clearTimeout(timer);
    await fsp.rm(tmp, { force: true });
  }
}
