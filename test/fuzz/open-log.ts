// Records every path a process opens or lists through node:fs (h5wasm and the zip and TIFF readers go through it
// too), so the fuzz harness can say whether anything outside the named inputs was read. Loaded with
// `node --import` into each CLI case (the paths and peak RSS written at exit to $FUZZ_OPEN_LOG), and imported by
// the in-process runner, which reads and clears `recordOpens()`'s set per case.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';

const { writeFileSync } = fs;
let opened: Set<string> | undefined;

function note(p: unknown): void {
  if (typeof p === 'string') opened?.add(path.resolve(p));
  else if (p instanceof URL) opened?.add(p.pathname);
  else if (Buffer.isBuffer(p)) opened?.add(path.resolve(p.toString()));
}

type Fn = (...args: unknown[]) => unknown;
function wrap(target: Record<string, unknown>, names: string[]): void {
  for (const name of names) {
    const original = target[name] as Fn | undefined;
    if (typeof original !== 'function') continue;
    target[name] = function (this: unknown, ...args: unknown[]) {
      note(args[0]);
      return original.apply(this, args);
    };
  }
}

/** Starts recording (once per process); the returned set fills with every path opened from now on. */
export function recordOpens(): Set<string> {
  if (opened) return opened;
  opened = new Set();
  const names = ['open', 'openSync', 'readFile', 'readFileSync', 'createReadStream', 'readdir', 'readdirSync', 'opendir', 'opendirSync'];
  wrap(fs as unknown as Record<string, unknown>, names);
  wrap(fs.promises as unknown as Record<string, unknown>, ['open', 'readFile', 'readdir', 'opendir']);
  syncBuiltinESMExports();
  return opened;
}

const logFile = process.env.FUZZ_OPEN_LOG;
if (logFile) {
  const set = recordOpens();
  process.on('exit', () => {
    // VmHWM, not resourceUsage().maxRSS: Linux carries the spawning process's peak over into the child's maxRSS.
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const maxRssKb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    writeFileSync(logFile, JSON.stringify({ maxRssKb, opened: [...set] }));
  });
}
