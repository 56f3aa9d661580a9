// A decode-pool.ts thread: decodes the files of each message with decodeImage, as the main thread would, and
// posts back each one's pixels (moved, not copied) or the first line of its error, in the files' order.
import { parentPort } from 'node:worker_threads';
import { decodeImage } from './decode.js';
import type { Decoded } from './decode-pool.js';
import type { DecodeOptions } from './decode-types.js';

parentPort?.on('message', async ({ id, files, options }: { id: number; files: string[]; options: DecodeOptions }) => {
  const transfer: ArrayBuffer[] = [];
  const decoded = await Promise.all(
    files.map(async (file): Promise<Decoded> => {
      try {
        const pixels = await decodeImage(file, options);
        // Only a buffer of its own can be moved; a view into a larger one is copied.
        const own = pixels.byteLength === pixels.buffer.byteLength ? pixels : pixels.slice();
        transfer.push(own.buffer as ArrayBuffer);
        return { pixels: own };
      } catch (err) {
        return { error: String((err as Error)?.message ?? err).split('\n')[0] };
      }
    }),
  );
  parentPort?.postMessage({ id, decoded }, transfer);
});
