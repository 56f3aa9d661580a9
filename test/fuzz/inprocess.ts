// Runs fuzz cases in a long-lived child process (inprocess-runner.ts) instead of a CLI process each: the same
// command through the CLI's `runCli`, without Node's start and module loading per case, so CI can draw a few
// hundred cases per format in minutes. Each case keeps its limits: its time (the runner is killed and restarted
// on a hang), its peak RSS (the runner's high-water mark is reset before each case and polled during it), the
// paths it opens and what it prints.
import { type ChildProcess, fork } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers.js';
import type { Damage } from './formats.js';
import { type CaseResult, LIMITS, type Outcome, judge, peakRss, prepareCase } from './harness.js';
import type { InProcessOutcome } from './inprocess-runner.js';
import type { Seed } from './seeds.js';

const RUNNER = path.join(ROOT, 'dist', 'test', 'fuzz', 'inprocess-runner.js');
/** A fresh runner after this many cases: what one case leaves behind (caches, tfjs state) stays small. */
const CASES_PER_RUNNER = 100;

export class InProcessRunner {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private cases = 0;
  /** Native output (ORT's log) goes to the runner's stderr pipe, not through process.stderr.write. */
  private native = '';

  private start(): Promise<void> {
    const child = fork(RUNNER, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, TRANSFERKIT_DEBUG: process.env.FUZZ_DEBUG ?? '' } });
    child.stdout?.on('data', (d) => (this.native += d));
    child.stderr?.on('data', (d) => (this.native += d));
    this.child = child;
    this.cases = 0;
    return new Promise((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`fuzz runner exited (${code}) before it was ready: ${this.native.slice(-500)}`)));
    });
  }

  /** Ends the runner process (a later `run` starts another). */
  stop(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
    this.ready = undefined;
  }

  /** Prepares the case's folder, runs `args` there in the runner, and judges the outcome. */
  async run(id: string, seed: Seed, damage: Damage, args: string[], caseDir: string): Promise<CaseResult> {
    if (this.cases >= CASES_PER_RUNNER) this.stop();
    this.ready ??= this.start();
    await this.ready;
    prepareCase(seed, damage, caseDir);
    this.cases++;
    const outcome = await this.send(caseDir, args);
    rmSync(caseDir, { recursive: true, force: true });
    return judge(id, seed, damage, args, caseDir, outcome);
  }

  private async send(caseDir: string, args: string[]): Promise<Outcome> {
    const child = this.child as ChildProcess;
    const pid = child.pid as number;
    // Resets VmHWM to the current RSS, so the peak polled below is this case's.
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    this.native = '';
    const started = Date.now();
    let peak = 0;
    let killed: Outcome['killed'];
    const answer = await new Promise<InProcessOutcome | { exit: number | null }>((resolve) => {
      const watch = setInterval(() => {
        peak = Math.max(peak, peakRss(pid));
        if (peak > LIMITS.rssBytes) killed ??= 'memory';
        else if (Date.now() - started > LIMITS.seconds * 1000) killed ??= 'hang';
        if (killed) child.kill('SIGKILL');
      }, 25);
      const done = (a: InProcessOutcome | { exit: number | null }) => {
        clearInterval(watch);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(a);
      };
      const onMessage = (m: InProcessOutcome) => done(m);
      const onExit = (code: number | null) => done({ exit: code });
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({ caseDir, args });
    });
    peak = Math.max(peak, peakRss(pid));
    const ms = Date.now() - started;
    if ('exit' in answer) {
      // Killed here, or died of an error no command caught: a crash, as the CLI's process would be.
      this.stop();
      return { code: killed ? null : (answer.exit ?? 70), stdout: '', stderr: this.native, killed, peakRssBytes: peak, ms };
    }
    // Give a native log line written just before the answer a moment to arrive through the pipe.
    await new Promise((r) => setTimeout(r, 5));
    return { ...answer, stderr: answer.stderr + this.native, peakRssBytes: peak, ms };
  }
}
