import { randomBytes } from 'node:crypto';
import { promises as fsp, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A temporary name beside `file`, so that the final rename stays on one file system. */
export function tempNameFor(file: string): string {
  const dir = path.dirname(file);
  return path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes `data` to `file` through a temporary file in the same folder and a rename, so a reader (or a crash)
 * sees either the old complete file or the new complete file, never half of one.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fsp.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = tempNameFor(path.resolve(file));
  try {
    const handle = await fsp.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

const scratch: string[] = [];

/**
 * A fresh folder under the system's temp folder, removed when this process exits (tests and the benchmark write
 * hundreds of MB of models and features there).
 */
export function scratchDir(prefix: string): string {
  if (scratch.length === 0)
    process.once('exit', () => {
      for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
    });
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}
