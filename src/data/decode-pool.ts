// Worker threads that decode a batch of image files while the model runs the previous one. ONNX Runtime's run
// blocks the main thread, so decoding there (the wasm JPEG path is synchronous) cannot overlap the forward
// pass, as sharp's decoding on libuv's threads did.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DecodeOptions } from './decode-types.js';

/** One file's pixels, or the first line of why it could not be decoded. */
export type Decoded = { pixels: Float32Array } | { error: string };

/**
 * Half the cores, up to 4 (the other half runs the model), from 4 cores up. On 2 cores ONNX Runtime's two
 * threads already keep both busy: a decoding thread there measured no faster and cost ~0.1 s of CPU to start.
 */
export function decodeThreads(): number {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return cores >= 4 ? Math.min(4, Math.floor(cores / 2)) : 0;
}

export class DecodePool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve(d: Decoded[]): void; reject(err: Error): void }>();
  private next = 0;
  private closing = false;
  private failure: Error | null = null;

  constructor(threads: number) {
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(new URL('./decode-thread.js', import.meta.url));
      w.on('message', ({ id, decoded }: { id: number; decoded: Decoded[] }) => {
        this.pending.get(id)?.resolve(decoded);
        this.pending.delete(id);
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => this.fail(new Error(`a decoding thread stopped (exit code ${code})`)));
      return w;
    });
  }

  private fail(err: Error): void {
    if (this.closing) return;
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** The files' pixels (or errors), in their order, decoded by one of the threads. */
  decode(files: string[], options: DecodeOptions): Promise<Decoded[]> {
    const id = this.next++;
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[id % this.workers.length].postMessage({ id, files, options });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
