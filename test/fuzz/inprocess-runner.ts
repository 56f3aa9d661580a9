// The in-process fuzz runner: a child process that runs many cases' commands through the CLI's own `runCli` (the
// same parsing, library calls and error line as `transferkit ARGS`), without a Node start per case. The parent
// (inprocess.ts) prepares each case's folder, limits its time and memory, and restarts this process after a
// kill. Per case it answers the exit code, what the command printed, the paths it opened and the thrown error's
// class (a refusal must be a TransferkitError, not a TypeError that happens to read well).
import { TransferkitError } from '../../src/errors.js';
import { recordOpens } from './open-log.js';

export interface InProcessCase {
  caseDir: string;
  args: string[];
}

export interface InProcessOutcome {
  code: number;
  stdout: string;
  stderr: string;
  opened: string[];
  /** The class of the error the command threw, when it is not a TransferkitError. */
  foreign?: string;
}

const opened = recordOpens();
const { runCli } = await import('../../src/cli/run.js');
const realOut = process.stdout.write.bind(process.stdout);
const realErr = process.stderr.write.bind(process.stderr);
// `train` adds a Ctrl-C listener per run; hundreds of runs here are not a leak.
process.setMaxListeners(0);

async function runOne({ caseDir, args }: InProcessCase): Promise<InProcessOutcome> {
  process.chdir(caseDir);
  process.env.TRANSFERKIT_HOME = `${caseDir}/home`;
  process.env.TMPDIR = `${caseDir}/tmp`;
  opened.clear();
  let stdout = '';
  let stderr = '';
  let foreign: string | undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await runCli(args, (err) => {
      if (!(err instanceof TransferkitError)) foreign = err instanceof Error ? err.constructor.name : typeof err;
    });
    return { code, stdout, stderr, opened: [...opened], ...(foreign ? { foreign } : {}) };
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    process.removeAllListeners('SIGINT');
    process.chdir('/');
  }
}

// An error escaping the command (an unhandled rejection, an exception in a callback) ends this process: the
// parent counts it as a crash, as the CLI's would be.
process.on('message', (c: InProcessCase) => {
  runOne(c).then(
    (outcome) => process.send?.(outcome),
    (err) => {
      realErr(`runner: ${(err as Error).stack}\n`);
      process.exit(70);
    },
  );
});
process.send?.({ ready: true });
