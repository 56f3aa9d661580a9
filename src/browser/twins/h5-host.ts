// The browser's twin of src/weights/h5-host.ts: h5wasm's browser build, whose files live in its in-memory file
// system (src/browser/weights.ts writes a picked file there).
import type * as node from '../../weights/h5-host.js';
import { hasHdf5Signature } from '../../weights/hdf5-signature.js';

export type H5wasm = node.H5wasm;
let lib: H5wasm | undefined;

export const loadH5wasm: typeof node.loadH5wasm = async () => {
  lib ??= (await import('h5wasm')) as unknown as H5wasm;
  return lib;
};

/** h5wasm once loaded, for the file system's other users (file-exists.ts). */
export const loadedH5wasm = (): H5wasm | undefined => lib;

export const looksLikeHdf5: typeof node.looksLikeHdf5 = (file) => {
  const fs = lib?.FS;
  if (!fs) return false;
  const bytes = fs.readFile(file) as Uint8Array;
  return hasHdf5Signature(bytes.length, (offset) => bytes.subarray(offset, offset + 8));
};

export const native: typeof node.native = (fn) => fn();

let scratch = 0;

export const h5Scratch: typeof node.h5Scratch = async (write) => {
  const file = `/scratch-${++scratch}.h5`;
  const { FS } = await loadH5wasm();
  try {
    await write(file);
    return FS?.readFile(file) as Uint8Array;
  } finally {
    if ((FS as unknown as { analyzePath(p: string): { exists: boolean } }).analyzePath(file).exists) FS?.unlink(file);
  }
};
