// What a fetched file must hash to, with no I/O: shared by Node's weights cache and downloads and by the
// browser's weights fetched by URL (src/browser/weights-url.ts), so both refuse the same files.

/** A file transferkit can fetch: where from, and how to recognise the true one. */
export interface RemoteFile {
  /** The published file name, also its name in the cache. */
  file: string;
  url: string;
  /** The md5 Keras publishes (its `file_hash`). */
  md5?: string;
  /** The sha256 recorded by transferkit where Keras publishes no hash (seen once, pinned here). */
  sha256?: string;
  /** What to run with a copy fetched elsewhere (default: `transferkit weights import FILE`). */
  importCommand?: string;
}

export interface FileHashes {
  md5: string;
  sha256: string;
  bytes: number;
}

/** Which published hash `hashes` fails, or null when it matches (or nothing is published). */
export function hashMismatch(remote: RemoteFile, hashes: FileHashes): string | null {
  if (remote.md5 && remote.md5 !== hashes.md5) return `md5 ${hashes.md5}, expected ${remote.md5}`;
  if (remote.sha256 && remote.sha256 !== hashes.sha256) return `sha256 ${hashes.sha256}, expected ${remote.sha256}`;
  return null;
}
