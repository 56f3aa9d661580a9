// Whether a named file exists: on disk in Node; the browser build swaps in src/browser/twins/file-exists.ts,
// where the named files are those the page wrote into h5wasm's in-memory file system.
import { existsSync } from 'node:fs';

export const fileExists = (file: string): boolean => existsSync(file);
