import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { TransferkitError } from '../errors.js';
import { tempNameFor, writeFileAtomic } from '../util/fs.js';
import { downloadFile } from '../util/download.js';
import { openKerasWeights } from './h5.js';
import { type FileHashes, type RemoteFile, hashFile, hashMismatch, transferkitHome } from '../util/remote-file.js';
import type { WeightsEntry } from './remote.js';

/** Where downloaded and imported weights files live. */
export function weightsDir(): string {
  return path.join(transferkitHome(), 'weights');
}

/** Where a registry file lives in the cache. */
export function cachePath(remote: RemoteFile): string {
  return path.join(weightsDir(), remote.file);
}

/** The sha256 pinned on first sight of a file whose publisher gives no hash. */
const pinPath = (remote: RemoteFile) => `${cachePath(remote)}.sha256`;

async function pinnedSha256(remote: RemoteFile): Promise<string | undefined> {
  try {
    return (await fsp.readFile(pinPath(remote), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The hashes a cached or imported copy must have: the published ones, else the one pinned on first sight. */
async function expected(remote: RemoteFile): Promise<RemoteFile> {
  if (remote.md5 || remote.sha256) return remote;
  return { ...remote, sha256: await pinnedSha256(remote) };
}

function cacheWriteError(err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') {
    return new TransferkitError(`cannot write to the cache folder ${weightsDir()} (${code}): set TRANSFERKIT_HOME to a writable folder`);
  }
  return err as Error;
}

async function pinIfUnpublished(remote: RemoteFile, hashes: FileHashes): Promise<string | null> {
  if (remote.md5 || remote.sha256) return null;
  await writeFileAtomic(pinPath(remote), `${hashes.sha256}\n`);
  return `no hash is published for ${remote.file}; recorded its sha256 ${hashes.sha256} in the cache`;
}

/** The cached copy of `remote`, downloading it (progress bar, hash check) when it is not cached yet. */
export async function ensureCached(remote: RemoteFile): Promise<string> {
  const dest = cachePath(remote);
  if (existsSync(dest)) return dest;
  try {
    await fsp.mkdir(weightsDir(), { recursive: true });
    const hashes = await downloadFile(remote, dest);
    const note = await pinIfUnpublished(remote, hashes);
    if (note) process.stderr.write(`transferkit: ${note}\n`);
  } catch (err) {
    throw cacheWriteError(err);
  }
  return dest;
}

/** Total parameters stored in a weights file. */
export async function countFileParams(file: string): Promise<number> {
  const stored = await openKerasWeights(file);
  try {
    let n = 0;
    for (const weights of stored.layers.values()) for (const w of weights) n += w.shape.reduce((a, b) => a * b, 1);
    return n;
  } finally {
    stored.close();
  }
}

export interface ImportResult {
  entry: RemoteFile;
  path: string;
  hashes: FileHashes;
  /** Said when the file had no published hash and its sha256 was pinned. */
  note?: string;
}

/**
 * Copies a file the user downloaded elsewhere into the cache, for offline machines. The file is recognised by
 * its name among `known`, and must carry that file's hash; a file with no published hash must at least open as
 * Keras weights with the expected parameter count. Nothing is written unless every check passes.
 */
export async function importFile(src: string, known: RemoteFile[]): Promise<ImportResult> {
  const name = path.basename(src);
  const entry = known.find((e) => e.file === name);
  if (!entry) {
    throw new TransferkitError(
      `${src}: not a file transferkit knows by name (see 'transferkit weights list'); to use any Keras weights file directly, pass its path as --weights FILE`,
    );
  }
  let hashes: FileHashes;
  try {
    hashes = await hashFile(src);
  } catch (err) {
    throw new TransferkitError(`${src}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const mismatch = hashMismatch(await expected(entry), hashes);
  if (mismatch) throw new TransferkitError(`${src}: this is not Keras's ${entry.file} (${mismatch}); the file is damaged or a different file`);
  const params = (entry as WeightsEntry).params;
  if (!entry.md5 && !entry.sha256 && name.endsWith('.h5')) {
    const found = await countFileParams(src);
    if (params !== undefined && found !== params) {
      throw new TransferkitError(`${src}: holds ${found} parameters, ${entry.file} has ${params}; the file is damaged or a different file`);
    }
  }
  const dest = cachePath(entry);
  try {
    await fsp.mkdir(weightsDir(), { recursive: true });
    const tmp = tempNameFor(dest);
    try {
      await fsp.copyFile(src, tmp);
      await fsp.chmod(tmp, 0o644);
      await fsp.rename(tmp, dest);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
    const note = await pinIfUnpublished(entry, hashes);
    return { entry, path: dest, hashes, ...(note ? { note } : {}) };
  } catch (err) {
    throw cacheWriteError(err);
  }
}

export interface VerifyRow {
  file: string;
  status: 'ok' | 'mismatch' | 'unpinned';
  detail?: string;
}

/** Re-hashes every cached copy of the `known` files against its published or pinned hash. */
export async function verifyCache(known: RemoteFile[]): Promise<VerifyRow[]> {
  const rows: VerifyRow[] = [];
  for (const entry of known) {
    const file = cachePath(entry);
    if (!existsSync(file)) continue;
    const want = await expected(entry);
    if (!want.md5 && !want.sha256) {
      rows.push({ file: entry.file, status: 'unpinned', detail: 'no published or recorded hash' });
      continue;
    }
    const mismatch = hashMismatch(want, await hashFile(file));
    rows.push(mismatch ? { file: entry.file, status: 'mismatch', detail: mismatch } : { file: entry.file, status: 'ok' });
  }
  return rows;
}
