import { promises as fsp } from 'node:fs';
import { tempNameFor } from '../util/fs.js';

/** NumPy's .npy v1.0 header for a C-order float32 array, padded so the data starts 64-byte aligned. */
function header(shape: number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // A fixed width keeps the header the same size when the row count is filled in at the end.
  const body = dict.padEnd(117, ' ') + '\n';
  const out = Buffer.alloc(10 + body.length);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(out, 0);
  out.writeUInt16LE(body.length, 8);
  out.write(body, 10, 'latin1');
  return out;
}

const HEADER_BYTES = header([0]).length;

/**
 * Streams float32 rows into a .npy file: rows are appended as they come, the row count is written into the
 * header at the end, and the file appears under its name only when complete (temporary name, then rename).
 */
export class NpyWriter {
  private rows = 0;
  private offset = HEADER_BYTES;

  private constructor(
    private readonly file: string,
    private readonly tmp: string,
    private readonly handle: fsp.FileHandle,
    private readonly rowShape: number[],
  ) {}

  static async open(file: string, rowShape: number[]): Promise<NpyWriter> {
    const tmp = tempNameFor(file);
    const handle = await fsp.open(tmp, 'w');
    await handle.write(header([0, ...rowShape]), 0, undefined, 0);
    return new NpyWriter(file, tmp, handle, rowShape);
  }

  async append(data: Float32Array, rows: number): Promise<void> {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    await this.handle.write(bytes, 0, bytes.length, this.offset);
    this.offset += bytes.length;
    this.rows += rows;
  }

  /** Writes the final header and renames the file into place. */
  async close(): Promise<number> {
    await this.handle.write(header([this.rows, ...this.rowShape]), 0, undefined, 0);
    await this.handle.sync();
    await this.handle.close();
    await fsp.rename(this.tmp, this.file);
    return this.rows;
  }

  /** Abandons the file: nothing is left behind. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fsp.rm(this.tmp, { force: true });
  }
}
