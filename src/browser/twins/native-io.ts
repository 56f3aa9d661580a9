// The browser's twin of src/data/native-io.ts: a page decodes the bytes of picked files (decodeDicom), and the
// codecs that need zlib or a WebAssembly build loaded by require are not in the browser build yet: such a file
// is refused with the reason, which the page counts as a skip.
import type * as node from '../../data/native-io.js';

const byPath = (file: string) => new Error(`${file}: a page reads picked files, not paths`);

export const readBytes: typeof node.readBytes = async (file) => {
  throw byPath(file);
};

export const readHead: typeof node.readHead = async () => null;

export const inflateRaw: typeof node.inflateRaw = () => {
  throw new Error('not in the browser build yet (deflated transfer syntax)');
};

export const requireCodec: typeof node.requireCodec = (pkg) => {
  throw new Error(`not in the browser build yet (${pkg.split('/').slice(0, 2).join('/')})`);
};

export const openFile: typeof node.openFile = (file) => {
  throw byPath(file);
};

export const inflateBounded: typeof node.inflateBounded = () => {
  throw new Error('not in the browser build yet (a deflated TIFF)');
};
