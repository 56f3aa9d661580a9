// Every path the UI touches must stay inside its root: resolved, symlinks followed, then checked.
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export class Forbidden extends Error {}

const inside = (root: string, p: string) => p === root || p.startsWith(root + path.sep);

/**
 * The real path of `rel` under `root`, refusing `..` escapes and symlinks that point outside. A path that does
 * not exist yet is checked through its nearest existing parent.
 */
export async function resolveInside(root: string, rel: string): Promise<string> {
  const realRoot = await fsp.realpath(root);
  const wanted = path.resolve(realRoot, rel);
  if (!inside(realRoot, wanted)) throw new Forbidden(`'${rel}' is outside the UI's root`);
  let probe = wanted;
  const rest: string[] = [];
  for (;;) {
    try {
      const real = await fsp.realpath(probe);
      if (!inside(realRoot, real)) throw new Forbidden(`'${rel}' leads outside the UI's root`);
      return path.join(real, ...rest.reverse());
    } catch (err) {
      if (err instanceof Forbidden || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      rest.push(path.basename(probe));
      probe = path.dirname(probe);
    }
  }
}

/** `abs` as the UI shows it: relative to the root, with forward slashes. */
export function relativeToRoot(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/') || '.';
}
