// What h5.ts needs from Node: h5wasm's Node build (it reads files in place), the signature check on a file,
// stderr, and a scratch file for HDF5 written in memory. The browser build swaps this file for src/browser/twins/h5-host.ts (package.json "browser").
import { closeSync, promises as fsp, openSync, readSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempNameFor } from '../util/fs.js';
import { hasHdf5Signature } from './hdf5-signature.js';

export type H5wasm = typeof import('h5wasm/node');

/** h5wasm, loaded on first use. */
export const loadH5wasm = (): Promise<H5wasm> => import('h5wasm/node');

/** Whether `file` carries HDF5's signature. */
export function looksLikeHdf5(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    return hasHdf5Signature(statSync(file).size, (offset) => {
      const buf = Buffer.alloc(8);
      readSync(fd, buf, 0, 8, offset);
      return buf;
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs an h5wasm call. When HDF5 aborts (an allocation a damaged file asks for fails), Emscripten prints
 * `Aborted(…)` through console.error before it throws; that line stays off the terminal, the error says it.
 */
export function native<T>(fn: () => T): T {
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    String(chunk).startsWith('Aborted(') ? true : write.call(process.stderr, chunk, ...rest)) as typeof write;
  try {
    return fn();
  } finally {
    process.stderr.write = write;
  }
}

/** The bytes of an HDF5 file `write` makes at a scratch path (a temporary file, removed after). */
export async function h5Scratch(write: (file: string) => Promise<void>): Promise<Uint8Array> {
  const tmp = tempNameFor(path.join(os.tmpdir(), 'model.weights.h5'));
  try {
    await write(tmp);
    return new Uint8Array(await fsp.readFile(tmp));
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}
