// What the DICOM and TIFF decoders take from Node: a file's bytes, zlib's inflate and the codec packages loaded
// by require. The browser build swaps this module for src/browser/twins/native-io.ts (the page hands over bytes).
import { closeSync, fstatSync, promises as fsp, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { inflateRawSync, inflateSync, constants as zlib } from 'node:zlib';

const require = createRequire(import.meta.url);

/** A file's bytes. */
export const readBytes = async (file: string): Promise<Uint8Array> => new Uint8Array(await fsp.readFile(file));

/** The first `n` bytes of a file (fewer when it is shorter); null when it cannot be read (a folder, no access). */
export async function readHead(file: string, n: number): Promise<Uint8Array | null> {
  const fh = await fsp.open(file, 'r').catch(() => null);
  if (!fh) return null;
  try {
    const head = new Uint8Array(n);
    const { bytesRead } = await fh.read(head, 0, n, 0);
    return head.subarray(0, bytesRead);
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

/** Raw deflate, inflated to at most `limit` bytes: 'too large' past it, 'corrupt' for a broken stream. */
export function inflateRaw(bytes: Uint8Array, limit: number): Uint8Array {
  try {
    return inflateRawSync(bytes, { maxOutputLength: limit });
  } catch (err) {
    throw new Error((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'too large' : 'corrupt');
  }
}

/** A codec package (Cornerstone's WebAssembly builds, the lossless JPEG decoder). */
export const requireCodec = (pkg: string): unknown => require(pkg);

/** A file opened for reads at offsets (TIFF's structure is checked without reading the whole file). */
export function openFile(file: string): { size: number; read(at: number, length: number): Uint8Array; close(): void } {
  const fd = openSync(file, 'r');
  return {
    size: fstatSync(fd).size,
    read(at, length) {
      const b = new Uint8Array(length);
      readSync(fd, b, 0, length, at);
      return b;
    },
    close: () => closeSync(fd),
  };
}

/** zlib's deflate, inflated to at most `limit` bytes (a partial last block kept): 'too large' past it, 'corrupt (…)' for a broken stream. */
export function inflateBounded(bytes: Uint8Array, limit: number): Uint8Array {
  try {
    return inflateSync(bytes, { maxOutputLength: limit, finishFlush: zlib.Z_SYNC_FLUSH });
  } catch (err) {
    throw new Error((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'too large' : `corrupt (${(err as Error).message})`);
  }
}
