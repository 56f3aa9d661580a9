import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where Keras publishes its applications' weights. */
export const KERAS_APPLICATIONS_URL = 'https://storage.googleapis.com/tensorflow/keras-applications';

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

/** A pretrained weights file of one model variant. */
export interface WeightsEntry extends RemoteFile {
  /** Application id, e.g. 'vgg16'. */
  model: string;
  includeTop: boolean;
  /** Parameters in the file, where known: a check that an imported file is complete. */
  params?: number;
  /** The options that select this file among the family's, e.g. {alpha: 0.25, size: 224}. */
  variant?: Record<string, number>;
}

/** `$TRANSFERKIT_HOME`, else ~/.transferkit (like KERAS_HOME). */
export function transferkitHome(): string {
  const env = process.env.TRANSFERKIT_HOME;
  return env ? path.resolve(env) : path.join(os.homedir(), '.transferkit');
}

export function weightsDir(): string {
  return path.join(transferkitHome(), 'weights');
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

/**
 * The pair of files Keras publishes for most families: `<stem>.h5` with the classifier and `<stem>_notop.h5`
 * without, under `keras-applications/<folder>/`, each with its md5 and parameter count.
 */
export function kerasTopAndNotop(model: string, folder: string, stem: string, md5: [string, string], params: [number, number]): WeightsEntry[] {
  return [true, false].map((includeTop, i) => {
    const file = `${stem}${includeTop ? '' : '_notop'}.h5`;
    return { model, includeTop, file, url: `${KERAS_APPLICATIONS_URL}/${folder}/${file}`, md5: md5[i], params: params[i] };
  });
}
