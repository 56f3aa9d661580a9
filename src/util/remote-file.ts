// A file fetched from the web into transferkit's home and how to recognise the true one: shared by the weights
// cache and the datasets.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FileHashes } from './remote-hash.js';

export { type FileHashes, type RemoteFile, hashMismatch } from './remote-hash.js';

/** `$TRANSFERKIT_HOME`, else ~/.transferkit (like KERAS_HOME). */
export function transferkitHome(): string {
  const env = process.env.TRANSFERKIT_HOME;
  return env ? path.resolve(env) : path.join(os.homedir(), '.transferkit');
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
