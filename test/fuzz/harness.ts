// Runs one fuzz case as a user would (the built CLI in a child process, in the case's own folder) under a time
// and memory limit, and judges what came out: one clear line and exit 1, or success; never a crash, a hang,
// a memory blow-up, a JavaScript or native internal, a NaN printed, or a file opened outside the case.
// The in-process runner (inprocess.ts) judges its cases with the same `judge`.
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
  /** Run by the in-process runner rather than as a CLI process. */
  inProcess?: boolean;
}

/** What a case's command did, however it ran. */
export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Paths opened through node:fs; undefined when not recorded. */
  opened?: string[];
  /** Set when the case was killed. */
  killed?: 'hang' | 'memory';
  peakRssBytes: number;
  ms: number;
  /** In process: the class of a thrown error that is not a TransferkitError. */
  foreign?: string;
}

/** What only the program's own workings print: JavaScript errors, native aborts, HDF5's and ORT's logs. */
const INTERNAL =
  /Cannot read propert|Invalid typed array length|Maximum call stack|HDF5-DIAG|Aborted\(|\(unreachable\)|RangeError|TypeError|ReferenceError|SyntaxError|is not a function|is not iterable|Array buffer allocation failed|out of memory|\bat [\w.<>]+ \(|node:internal|\[(W|E):onnxruntime|onnxruntime\/|\.cc:\d+|ERR_[A-Z_]+|EBADF|\bwasm:\/\//;

const HOOK = pathToFileURL(path.join(ROOT, 'dist', 'test', 'fuzz', 'open-log.js')).href;

/** VmHWM (peak RSS) of a live process, in bytes; 0 once it is gone. */
export function peakRss(pid: number): number {
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

/** Copies `seed` into `caseDir` with `damage` applied, with its own home and temp folders. */
export function prepareCase(seed: Seed, damage: Damage, caseDir: string): void {
  rmSync(caseDir, { recursive: true, force: true });
  cpSync(seed.dir, caseDir, { recursive: true });
  for (const [rel, data] of Object.entries(damage.files)) writeFileSync(path.join(caseDir, rel), data);
  for (const d of ['home', 'tmp']) mkdirSync(path.join(caseDir, d), { recursive: true });
}

/** Runs `args` in `caseDir` as a child CLI process, watching its peak RSS and time. */
async function spawnCli(args: string[], caseDir: string): Promise<Outcome> {
  const log = path.join(caseDir, 'tmp', 'open-log.json');
  const started = Date.now();
  // FUZZ_CLI runs another build's CLI on the same cases (e.g. main's, to count what a change fixes).
  const child = spawn(process.execPath, ['--import', HOOK, process.env.FUZZ_CLI ?? CLI, ...args], {
    cwd: caseDir,
    env: {
      ...process.env,
      TRANSFERKIT_HOME: path.join(caseDir, 'home'),
      TMPDIR: path.join(caseDir, 'tmp'),
      FUZZ_OPEN_LOG: log,
      TRANSFERKIT_DEBUG: process.env.FUZZ_DEBUG ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let killed: Outcome['killed'];
  let peak = 0;
  const watch = setInterval(() => {
    peak = Math.max(peak, peakRss(child.pid as number));
    if (peak > LIMITS.rssBytes) killed ??= 'memory';
    else if (Date.now() - started > LIMITS.seconds * 1000) killed ??= 'hang';
    if (killed) child.kill('SIGKILL');
  }, 25);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearInterval(watch);
  const report = existsSync(log) ? (JSON.parse(readFileSync(log, 'utf8')) as { maxRssKb: number; opened: string[] }) : undefined;
  if (report) peak = Math.max(peak, report.maxRssKb * 1024);
  return { code, stdout, stderr, opened: report?.opened, killed, peakRssBytes: peak, ms: Date.now() - started };
}

/** Copies `seed` into `caseDir` with `damage` applied, runs `args` there as a CLI process and judges the outcome. */
export async function runCase(id: string, seed: Seed, damage: Damage, args: string[], caseDir: string): Promise<CaseResult> {
  prepareCase(seed, damage, caseDir);
  const outcome = await spawnCli(args, caseDir);
  rmSync(caseDir, { recursive: true, force: true });
  return judge(id, seed, damage, args, caseDir, outcome);
}

/** The verdict on one case's outcome (`caseDir` is where it ran). */
export function judge(id: string, seed: Seed, damage: Damage, args: string[], caseDir: string, o: Outcome): CaseResult {
  const { code, stdout, stderr } = o;
  const result = (verdict: Verdict, why?: string): CaseResult => ({
    id,
    label: damage.label,
    args,
    verdict,
    why,
    code,
    ms: o.ms,
    peakRssMb: Math.round(o.peakRssBytes / 2 ** 20),
    stderr: stderr.slice(0, 2000),
  });
  if (o.killed) return result(o.killed, o.killed === 'hang' ? `no end within ${LIMITS.seconds} s` : `over ${LIMITS.rssBytes / 2 ** 20} MB`);
  if (o.peakRssBytes > LIMITS.rssBytes) return result('memory', `peak RSS ${Math.round(o.peakRssBytes / 2 ** 20)} MB`);
  const outside = o.opened?.filter((p) => !allowed(p, caseDir)) ?? [];
  if (outside.length) return result('outside', `opened ${outside.slice(0, 3).join(', ')}`);
  if (code !== 0 && code !== 1) return result('crash', `exit ${code}`);
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  const internal = [stderr, stdout].find((t) => INTERNAL.test(t));
  if (internal) return result('internal', (INTERNAL.exec(internal) as RegExpExecArray)[0]);
  if (o.foreign) return result('internal', `a ${o.foreign} was thrown, not a TransferkitError`);
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

/** Runs `jobs` with at most `parallel` at a time, in order of submission; each job is told its slot (0…parallel-1). */
export async function pool<T>(jobs: Array<(slot: number) => Promise<T>>, parallel: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async (_, slot) => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i](slot);
      }
    }),
  );
  return out;
}
