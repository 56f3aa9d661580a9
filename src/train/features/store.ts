// Where the frozen part's outputs wait between epochs: in memory, or in a file under
// $TRANSFERKIT_HOME/cache/features keyed by everything that determines them, so a second run (or a large
// set) reads them back instead of recomputing the base.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, promises as fsp, readSync } from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LabelledFile, SkippedFile } from '../../data/folders.js';
import { transferkitHome } from '../../util/remote-file.js';
import { tempNameFor, writeFileAtomic } from '../../util/fs.js';
import type { FeatureStore } from './memory-store.js';

export { type FeatureStore, memoryStore } from './memory-store.js';

export function cacheDir(): string {
  return path.join(transferkitHome(), 'cache', 'features');
}

/**
 * The base's architecture and weights as one digest: the model's share of a cache key. `ignoreTrainable` leaves
 * out the trainable flags (which do not change outputs), so a frozen base digests as the same base unfrozen.
 */
export function modelDigest(model: tfl.LayersModel, options: { ignoreTrainable?: boolean } = {}): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(model.toJSON(null, false), options.ignoreTrainable ? (k, v) => (k === 'trainable' ? undefined : v) : undefined));
  // By name: a container lists trainable weights first, so its order changes with the trainable flags.
  for (const w of [...model.weights].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const v = w.read().dataSync();
    h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return h.digest('hex');
}

/** The cache key: the model's digest, the cut, the preprocessing and size, and each image's path and content. */
export async function featureKey(digest: string, until: string, files: LabelledFile[], extra: object): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ digest, until, extra }));
  for (const f of files) {
    h.update(f.file);
    for await (const chunk of createReadStream(f.file)) h.update(chunk as Buffer);
  }
  return h.digest('hex').slice(0, 32);
}

interface DiskMeta {
  files: string[];
  rowSize: number;
  skipped: SkippedFile[];
}

/** Rows read from the cache file on demand: memory stays at one batch whatever the number of images. */
async function openDisk(file: string, meta: DiskMeta, files: LabelledFile[]): Promise<FeatureStore> {
  const labelOf = new Map(files.map((f) => [f.file, f.label]));
  const fd = openSync(file, 'r');
  const rowBytes = meta.rowSize * 4;
  return {
    labels: meta.files.map((f) => labelOf.get(f) as number),
    rowSize: meta.rowSize,
    async read(indices, out) {
      const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      indices.forEach((k, i) => readSync(fd, bytes, i * rowBytes, rowBytes, k * rowBytes));
    },
    async close() {
      closeSync(fd);
    },
  };
}

/** The cached rows for `key`, or null on a miss (or an unreadable entry, which is then recomputed). */
export async function loadDiskStore(key: string, files: LabelledFile[]): Promise<{ store: FeatureStore; skipped: SkippedFile[] } | null> {
  const base = path.join(cacheDir(), key);
  try {
    const meta = JSON.parse(await fsp.readFile(`${base}.json`, 'utf8')) as DiskMeta;
    const { size } = await fsp.stat(`${base}.f32`);
    if (size !== meta.files.length * meta.rowSize * 4) return null;
    return { store: await openDisk(`${base}.f32`, meta, files), skipped: meta.skipped };
  } catch {
    return null;
  }
}

/** Writes rows as they come to a temporary file, renamed into the cache when complete. */
export class DiskStoreWriter {
  private readonly base: string;
  private readonly tmp: string;
  private handle?: fsp.FileHandle;

  constructor(key: string) {
    this.base = path.join(cacheDir(), key);
    this.tmp = tempNameFor(`${this.base}.f32`);
  }

  async append(rows: Float32Array): Promise<void> {
    if (!this.handle) {
      await fsp.mkdir(cacheDir(), { recursive: true });
      this.handle = await fsp.open(this.tmp, 'w');
    }
    await this.handle.write(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
  }

  async finish(meta: DiskMeta, files: LabelledFile[]): Promise<FeatureStore> {
    if (!this.handle) await this.append(new Float32Array(0));
    await this.handle?.close();
    await fsp.rename(this.tmp, `${this.base}.f32`);
    await writeFileAtomic(`${this.base}.json`, JSON.stringify(meta));
    return openDisk(`${this.base}.f32`, meta, files);
  }

  async abort(): Promise<void> {
    await this.handle?.close();
    await fsp.rm(this.tmp, { force: true });
  }
}
