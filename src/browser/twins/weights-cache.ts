// The browser's twin of src/weights/cache.ts: a page has no weights cache to download into; the user picks the file.
import type * as node from '../../weights/cache.js';
import { TransferkitError } from '../../errors.js';

export const ensureCached: typeof node.ensureCached = async (remote) => {
  throw new TransferkitError(`a browser has no weights cache: pick ${remote.file} (a Keras .h5 file) and pass it as the base's weights`);
};
