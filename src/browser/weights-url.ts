// Weights fetched by URL in the page, checked as Node checks a download (the registry's own entry: Keras's md5,
// or the sha256 transferkit pinned) and kept in the Cache API, so the next visit reads them without the network.
import { applicationIds, getApplication } from '../applications/index.js';
import { TransferkitError } from '../errors.js';
import { md5Hex } from '../util/md5.js';
import { type FileHashes, type RemoteFile, hashMismatch } from '../util/remote-hash.js';
import type { WeightsEntry } from '../weights/remote.js';

/** The Cache API's cache the weights live in. */
export const WEIGHTS_CACHE = 'transferkit-weights';
/** The header a cached copy carries its sha256 in (a file with no published hash is pinned on first sight, as in Node). */
const PIN_HEADER = 'x-transferkit-sha256';

/** Weights fetched by URL: the file's bytes by its published name, and where they came from. */
export interface FetchedWeights {
  /** The file's published name (what the loader's errors call it). */
  name: string;
  url: string;
  /** True when the bytes came from the Cache API (no request was made). */
  fromCache: boolean;
  sha256: string;
  /** The registry's entry the file was checked against (absent for a file checked by `sha256` alone). */
  entry?: WeightsEntry;
  /** The file's bytes (a copy). */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** What `fetchWeights` checks a file by when the registry does not know it, and how to cancel the fetch. */
export interface FetchWeightsOptions {
  /** The sha256 a file transferkit does not know by name must have. */
  sha256?: string;
  signal?: AbortSignal;
}

/** The registry's entry of a URL: the same URL, else the same file name (a mirror of Keras's files). */
export function weightsEntryOf(url: string): WeightsEntry | undefined {
  const all = applicationIds().flatMap((id) => getApplication(id).spec.weights);
  const name = fileName(url);
  return all.find((e) => e.url === url) ?? all.find((e) => e.file === name);
}

const fileName = (url: string) => decodeURIComponent(new URL(url, globalThis.location?.href).pathname.split('/').pop() ?? '');

async function hashesOf(bytes: Uint8Array, md5: boolean): Promise<FileHashes> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  const sha256 = Array.from(digest, (x) => x.toString(16).padStart(2, '0')).join('');
  return { sha256, md5: md5 ? md5Hex(bytes) : '', bytes: bytes.length };
}

/** What the file must be: the registry's entry, else the caller's sha256; a file known by neither is refused. */
function expectedOf(url: string, o: FetchWeightsOptions): { remote: RemoteFile; entry?: WeightsEntry } {
  const entry = weightsEntryOf(url);
  if (entry) return { remote: o.sha256 ? { ...entry, sha256: o.sha256 } : entry, entry };
  if (!o.sha256)
    throw new TransferkitError(
      `${url}: ${fileName(url) || 'this file'} is not a weights file transferkit knows by name; pass its sha256 ({ sha256 }) so that it can be checked`,
    );
  return { remote: { file: fileName(url), url, sha256: o.sha256 } };
}

/** The cached copy when it still matches (a damaged one is dropped and fetched again). */
async function fromCache(cache: Cache | undefined, url: string, remote: RemoteFile): Promise<{ bytes: Uint8Array; hashes: FileHashes } | null> {
  const hit = await cache?.match(url);
  if (!hit) return null;
  const bytes = new Uint8Array(await hit.arrayBuffer());
  const hashes = await hashesOf(bytes, Boolean(remote.md5));
  const pinned = remote.md5 || remote.sha256 ? remote : { ...remote, sha256: hit.headers.get(PIN_HEADER) ?? undefined };
  if (!hashMismatch(pinned, hashes)) return { bytes, hashes };
  await cache?.delete(url);
  return null;
}

async function download(url: string, remote: RemoteFile, signal?: AbortSignal): Promise<{ bytes: Uint8Array; hashes: FileHashes }> {
  let response: Response;
  try {
    // The Cache API is the only cache: the HTTP cache would hide whether the file was fetched.
    response = await fetch(url, { cache: 'no-store', ...(signal ? { signal } : {}) });
  } catch (err) {
    throw new TransferkitError(`cannot fetch ${url}: ${(err as Error).message} (is it served with CORS or from this page's origin?)`);
  }
  if (!response.ok) throw new TransferkitError(`cannot fetch ${url}: the server answered ${response.status} ${response.statusText}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const hashes = await hashesOf(bytes, Boolean(remote.md5));
  const mismatch = hashMismatch(remote, hashes);
  if (mismatch) throw new TransferkitError(`${url}: this is not ${remote.file} (${mismatch}); the file is damaged or a different file, and was not cached`);
  return { bytes, hashes };
}

/**
 * Keras weights by URL, hash-checked against the registry's entry for the file (by URL, else by file name, so
 * a mirror of Keras's files is checked too) and kept in the Cache API: the second call reads the cache.
 * Pass the result to `buildBase` as a picked file.
 */
export async function fetchWeights(url: string, o: FetchWeightsOptions = {}): Promise<FetchedWeights> {
  const { remote, entry } = expectedOf(url, o);
  // The Cache API exists in secure contexts only (https, localhost); elsewhere every load fetches.
  const cache = typeof caches === 'undefined' ? undefined : await caches.open(WEIGHTS_CACHE);
  const cached = await fromCache(cache, url, remote);
  const got = cached ?? (await download(url, remote, o.signal));
  if (!cached)
    await cache?.put(
      url,
      new Response(got.bytes as Uint8Array<ArrayBuffer>, { headers: { [PIN_HEADER]: got.hashes.sha256, 'content-type': 'application/octet-stream' } }),
    );
  const { bytes } = got;
  return {
    name: remote.file,
    url,
    fromCache: Boolean(cached),
    sha256: got.hashes.sha256,
    ...(entry ? { entry } : {}),
    arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  };
}
