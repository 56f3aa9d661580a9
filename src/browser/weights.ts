// A Keras base built in the page as the Node zoo builds it: the picked .h5 file goes into h5wasm's in-memory
// file system, and the application's own build loads it by that name (the same loader, the same strict checks).
import type * as tfl from '@tensorflow/tfjs-layers';
import { getApplication } from '../applications/index.js';
import { TransferkitError } from '../errors.js';
import { loadH5wasm } from './twins/h5-host.js';
import { fetchWeights } from './weights-url.js';

/** A file the user picked (a `File`), or any name with its bytes. */
export interface PickedFile {
  readonly name: string;
  /** The file's bytes. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Which base to build, at which size and width. */
export interface BaseOptions {
  /** The application's id, as the CLI names it (default 'mobilenet'). */
  application?: string;
  /** The square input size (default the application's). */
  size?: number;
  /** MobileNet's width multiplier (the weights file decides which one fits). */
  alpha?: number;
}

/** Writes `file` into h5wasm's file system; returns its path there. */
async function mountWeights(file: PickedFile): Promise<string> {
  const lib = await loadH5wasm();
  await lib.ready;
  const fs = lib.FS as NonNullable<typeof lib.FS> & { analyzePath(p: string): { exists: boolean } };
  if (!fs.analyzePath('/picked').exists) fs.mkdir('/picked');
  const path = `/picked/${file.name.replace(/[/\\]/g, '_')}`;
  fs.writeFile(path, new Uint8Array(await file.arrayBuffer()));
  return path;
}

/**
 * The base without its top, with Keras weights loaded (strictly: every weight must fit): a file the user picked,
 * or a URL (fetched, hash-checked and cached by `fetchWeights`).
 */
export async function buildBase(picked: PickedFile | string, o: BaseOptions = {}): Promise<tfl.LayersModel> {
  const weights = typeof picked === 'string' ? await fetchWeights(picked) : picked;
  const app = getApplication(o.application ?? 'mobilenet');
  const size = o.size ?? app.spec.defaultSize;
  const path = await mountWeights(weights);
  try {
    return await app.build({ weights: path, includeTop: false, inputShape: [size, size, 3], ...(o.alpha !== undefined ? { alpha: o.alpha } : {}) });
  } catch (err) {
    // The loader names the file by its path in h5wasm's file system; the user knows it by its own name.
    if (err instanceof TransferkitError) err.message = err.message.replaceAll(path, weights.name);
    throw err;
  } finally {
    (await loadH5wasm()).FS?.unlink(path);
  }
}
