// Runs one fuzz case as a user would (the built CLI in a child process, in the case's own folder) under a time
// and memory limit, and judges what came out: one clear line and exit 1, or success; never a crash, a hang,
// a memory blow-up, a JavaScript or native internal, a NaN printed, or a file opened outside the case.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT } from '../helpers.js';
import type { Damage } from './formats.js';
import type { Seed } from './seeds.js';

export const LIMITS = { seconds: 20, rssBytes: 1 << 30 };

export type Verdict = 'ok' | 'hang' | 'memory' | 'crash' | 'internal' | 'unclear' | 'outside' | 'nan';

export interface CaseResult {
  id: string;
  label: string;
  args: string[];
  verdict: Verdict;
  why?: string;
  code: number | null;
  ms: number;
  peakRssMb: number;
  stderr: string;
}

/** What only the program's own workings print: JavaScript errors, native aborts, HDF5's and ORT's logs. */
const INTERNAL =
  /Cannot read propert|Invalid typed array length|Maximum call stack|HDF5-DIAG|Aborted\(|\(unreachable\)|RangeError|TypeError|ReferenceError|SyntaxError|is not a function|is not iterable|Array buffer allocation failed|out of memory|\bat [\w.<>]+ \(|node:internal|\[(W|E):onnxruntime|onnxruntime\/|\.cc:\d+|ERR_[A-Z_]+|EBADF|\bwasm:\/\//;

const HOOK = pathToFileURL(path.join(ROOT, 'dist', 'test', 'fuzz', 'open-log.js')).href;

/** VmHWM (peak RSS) of a live process, in bytes; 0 once it is gone. */
function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Paths a case may open: its own folder, the program's files, the system's, and the temporary file h5wasm's
 * HDF5 writes its error stack to (Emscripten's tmpfile() in /tmp, whatever TMPDIR says; the program's own,
 * removed at once).
 */
function allowed(p: string, caseDir: string): boolean {
  if (/^\/tmp\/tmpfile_\w{6}$/.test(p)) return true;
  const other = process.env.FUZZ_CLI ? [path.resolve(process.env.FUZZ_CLI, '..', '..', '..', '..')] : [];
  const roots = [caseDir, ROOT, ...other, '/proc', '/sys', '/dev', '/etc/ssl', '/usr/lib', '/usr/share', '/lib'];
  return roots.some((r) => p === r || p.startsWith(r + path.sep));
}

/** Copies `seed` into `caseDir` with `damage` applied, runs `args` there and judges the outcome. */
export async function runCase(id: string, seed: Seed, damage: Damage, args: string[], caseDir: string): Promise<CaseResult> {
  rmSync(caseDir, { recursive: true, force: true });
  cpSync(seed.dir, caseDir, { recursive: true });
  for (const [rel, data] of Object.entries(damage.files)) writeFileSync(path.join(caseDir, rel), data);
  for (const d of ['home', 'tmp']) mkdirSync(path.join(caseDir, d), { recursive: true });
  const log = path.join(caseDir, 'tmp', 'open-log.json');
  const started = Date.now();
  // FUZZ_CLI runs another build's CLI on the same cases (e.g. main's, to count what a change fixes).
  const child = spawn(process.execPath, ['--import', HOOK, process.env.FUZZ_CLI ?? CLI, ...args], {
    cwd: caseDir,
    env: { ...process.env, TRANSFERKIT_HOME: path.join(caseDir, 'home'), TMPDIR: path.join(caseDir, 'tmp'), FUZZ_OPEN_LOG: log, TRANSFERKIT_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let killed: Verdict | undefined;
  let peak = 0;
  const watch = setInterval(() => {
    peak = Math.max(peak, peakRss(child.pid as number));
    if (peak > LIMITS.rssBytes) killed ??= 'memory';
    else if (Date.now() - started > LIMITS.seconds * 1000) killed ??= 'hang';
    if (killed) child.kill('SIGKILL');
  }, 25);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearInterval(watch);
  const ms = Date.now() - started;
  const report = existsSync(log) ? (JSON.parse(readFileSync(log, 'utf8')) as { maxRssKb: number; opened: string[] }) : undefined;
  rmSync(caseDir, { recursive: true, force: true });
  if (report) peak = Math.max(peak, report.maxRssKb * 1024);
  const result = (verdict: Verdict, why?: string): CaseResult => ({
    id,
    label: damage.label,
    args,
    verdict,
    why,
    code,
    ms,
    peakRssMb: Math.round(peak / 2 ** 20),
    stderr: stderr.slice(0, 2000),
  });
  if (killed) return result(killed, killed === 'hang' ? `no end within ${LIMITS.seconds} s` : `over ${LIMITS.rssBytes / 2 ** 20} MB`);
  if (peak > LIMITS.rssBytes) return result('memory', `peak RSS ${Math.round(peak / 2 ** 20)} MB`);
  const outside = report?.opened.filter((p) => !allowed(p, caseDir)) ?? [];
  if (outside.length) return result('outside', `opened ${outside.slice(0, 3).join(', ')}`);
  if (code !== 0 && code !== 1) return result('crash', `exit ${code}`);
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  const internal = [stderr, stdout].find((t) => INTERNAL.test(t));
  if (internal) return result('internal', (INTERNAL.exec(internal) as RegExpExecArray)[0]);
  // No NaN is a result (`cat NaN%`, a regressor's NaN, `ROC AUC NaN`); a skip may quote the file's 'NaN'. The
  // mutations write no class named NaN.
  if (code === 0) return /(?<!')\bNaN\b(?!')/.test(stdout) ? result('nan', 'NaN printed with exit 0') : result('ok');
  const errors = lines.filter((l) => l.includes(': error: '));
  if (errors.length !== 1) return result('unclear', `${lines.length} stderr lines, ${errors.length} errors`);
  // The line names the damaged file (or the model folder or file holding it).
  const names = [...Object.keys(damage.files), seed.main].flatMap((rel) => [path.basename(rel), rel.split('/')[0]]);
  if (!names.some((n) => errors[0].includes(n))) return result('unclear', 'the error does not name the file');
  return result('ok');
}

/** Runs `jobs` with at most `parallel` at a time, in order of submission. */
export async function pool<T>(jobs: Array<() => Promise<T>>, parallel: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]();
      }
    }),
  );
  return out;
}
