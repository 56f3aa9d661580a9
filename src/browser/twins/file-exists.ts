// The browser's twin of src/util/file-exists.ts: a page's files are the picked ones written into h5wasm's
// in-memory file system (src/browser/weights.ts).
import type * as node from '../../util/file-exists.js';
import { loadedH5wasm } from './h5-host.js';

export const fileExists: typeof node.fileExists = (file) => {
  const fs = loadedH5wasm()?.FS as { analyzePath(p: string): { exists: boolean } } | null | undefined;
  return fs?.analyzePath(file).exists ?? false;
};
