// Every path the UI touches must stay inside its root: one gate for every request field that names a file or
// folder. The value arrives decoded once (by URLSearchParams, JSON.parse or the route); it is checked as text
// first, then resolved with symlinks followed. Messages name the field, never a server path.
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** A refused request: its HTTP status and a short message safe to show the client. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const inside = (root: string, p: string) => p === root || p.startsWith(root + path.sep);

/** `scheme:` (file:, http:, data:, …) and Windows drive letters (`C:`). */
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

export interface GateOptions {
  /** The field's name, for the message. */
  field: string;
  /** The path must name something below the root, not the root itself (anything written or replaced). */
  child?: boolean;
}

/**
 * The real path of `raw` under `root` (already a real path), or an HttpError: 400 for a malformed value (missing,
 * NUL, backslash, URL scheme, absolute), 403 for a value that resolves outside the root, or onto the root where a
 * child is required. A path that does not exist yet is checked through its nearest existing parent.
 */
export async function gatePath(root: string, raw: unknown, o: GateOptions): Promise<string> {
  if (typeof raw !== 'string' || raw === '') throw new HttpError(400, `${o.field}: a path under the UI's root is required`);
  if (raw.includes('\0')) throw new HttpError(400, `${o.field}: a NUL byte is not allowed in a path`);
  if (raw.includes('\\')) throw new HttpError(400, `${o.field}: write paths with '/', not '\\'`);
  if (SCHEME.test(raw)) throw new HttpError(400, `${o.field}: a path under the UI's root, not a URL or drive`);
  if (raw.startsWith('/')) throw new HttpError(400, `${o.field}: a path relative to the UI's root, not an absolute one`);
  const wanted = path.resolve(root, raw);
  if (!inside(root, wanted)) throw new HttpError(403, `${o.field}: the path is outside the UI's root`);
  let probe = wanted;
  const rest: string[] = [];
  for (;;) {
    let real: string;
    try {
      real = await fsp.realpath(probe);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new HttpError(403, `${o.field}: the path cannot be read (${code ?? 'error'})`);
      rest.push(path.basename(probe));
      probe = path.dirname(probe);
      continue;
    }
    if (!inside(root, real)) throw new HttpError(403, `${o.field}: the path leads outside the UI's root`);
    const resolved = path.join(real, ...rest.reverse());
    if (o.child && resolved === root) throw new HttpError(403, `${o.field}: the UI's root itself cannot be used here; name a folder inside it`);
    return resolved;
  }
}

/** `abs` as the UI shows it: relative to the root, with forward slashes. */
export function relativeToRoot(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/') || '.';
}

/** A message with the root (and any other absolute path) taken out, for a client. */
export function withoutServerPaths(root: string, message: string): string {
  return message
    .split(root + path.sep)
    .join('')
    .split(root)
    .join('.')
    .replace(/(?<![\w.])(?:\/[^\s'",;:()]+){2,}/g, '…');
}

/**
 * Refuses (403) a dataset folder whose class folders or images are symlinks leading outside the root: the folder
 * itself passed the gate, but listing or training on it would read what lies behind them.
 */
export async function gateFolderContents(root: string, dir: string, field: string, depth = 2): Promise<void> {
  for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isSymbolicLink()) {
      const real = await fsp.realpath(p).catch(() => null);
      if (real && !inside(root, real)) throw new HttpError(403, `${field}: the folder holds a link leading outside the UI's root`);
      if (real && depth > 1 && (await fsp.stat(real)).isDirectory()) await gateFolderContents(root, real, field, depth - 1);
    } else if (e.isDirectory() && depth > 1) await gateFolderContents(root, p, field, depth - 1);
  }
}
