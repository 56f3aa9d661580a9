// The torch 2 venv that exports test models the way users export them (.ci/run or test/python/make-venv.sh makes
// it), shared by the tests that run its export scripts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, tempDir } from './helpers.js';

export const SCRIPTS = path.join(ROOT, 'test', 'python');
const PYTHON = path.join(ROOT, '.venv-torch2', 'bin', 'python');

/** The venv's python, or null with a notice saying what goes untested without it. */
export function hubPython(untested: string): string | null {
  if (existsSync(PYTHON) && spawnSync(PYTHON, [path.join(SCRIPTS, 'export_hub.py'), 'list'], { encoding: 'utf8' }).status === 0) return PYTHON;
  process.stderr.write(`NOTICE: .venv-torch2 (torch 2, timm, transformers; made by .ci/run or test/python/make-venv.sh) is absent: ${untested} not tested\n`);
  return null;
}

/** The folder `script` exports `specs` into, made once (by one python process) when first asked for. */
export function exportOnce(python: string | null, script: string, specs: string[]): () => Promise<string> {
  let made: Promise<string> | undefined;
  return () => {
    made ??= new Promise((resolve, reject) => {
      const dir = tempDir();
      const p = spawn(python as string, [path.join(SCRIPTS, script), dir, ...specs], { cwd: SCRIPTS });
      let err = '';
      p.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
      p.stdout.on('data', (d) => (err = (err + d).slice(-4000)));
      p.on('close', (code) => (code === 0 ? resolve(dir) : reject(new Error(`${script} failed (${code}): ${err}`))));
    });
    return made;
  };
}
