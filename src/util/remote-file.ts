// A file fetched from the web into transferkit's home and how to recognise the true one: shared by the weights
// cache and the datasets.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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

/** `$TRANSFERKIT_HOME`, else ~/.transferkit (like KERAS_HOME). */
export function transferkitHome(): string {
  const env = process.env.TRANSFERKIT_HOME;
  return env ? path.resolve(env) : path.join(os.homedir(), '.transferkit');
}

export interface FileHashes {
  md5: string;
  sha256: string;
  bytes: number;
}

/** md5 and sha256 of a file in one streaming pass. */
export async function hashFile(file: string): Promise<FileHashes> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex'), bytes };
}

/** Which published hash `hashes` fails, or null when it matches (or nothing is published). */
export function hashMismatch(remote: RemoteFile, hashes: FileHashes): string | null {
  if (remote.md5 && remote.md5 !== hashes.md5) return `md5 ${hashes.md5}, expected ${remote.md5}`;
  if (remote.sha256 && remote.sha256 !== hashes.sha256) return `sha256 ${hashes.sha256}, expected ${remote.sha256}`;
  return null;
}
