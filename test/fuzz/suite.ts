// The fuzz suite as a whole: seeds made once, cases drawn per format from a seed number (the same cases on
// every run), run two at a time, counted per format. The first `cli` cases of a format run as CLI processes
// (exit codes, startup, a whole process's memory); the rest run in the in-process runner (the same command and
// checks, without a Node start per case). Used by test/fuzz.test.ts and bench/fuzz.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../../src/util/random.js';
import { FORMATS } from './formats.js';
import { type CaseResult, pool, runCase } from './harness.js';
import { InProcessRunner } from './inprocess.js';
import { KNOWN_FAILING } from './known-failing.js';
import { type Format, makeSeeds } from './seeds.js';

export interface FormatCount {
  format: Format;
  owner: string;
  cases: number;
  /** Of `cases`, how many ran as CLI processes. */
  cli: number;
  passed: number;
  knownFailing: number;
  failed: CaseResult[];
  maxMs: number;
  maxRssMb: number;
}

export interface SuiteResult {
  counts: FormatCount[];
  /** Known-failing ids that pass now: the list can lose them. */
  fixed: string[];
  missing: string[];
}

/** How many cases of a format to draw, and how many of them run as CLI processes (the first ones). */
export interface FormatPlan {
  cases: number;
  cli: number;
}

const hash = (s: string) => [...s].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);
const PARALLEL = 2;

/**
 * Runs `plan(format)` cases of each format under `root`, drawn from `runSeed` (0 is the CI set, which
 * known-failing.ts names); `only` picks cases by id (to rerun a failure).
 */
export async function runSuite(
  root: string,
  plan: (f: Format) => FormatPlan,
  runSeed = 0,
  onCase?: (format: Format, r: CaseResult) => void,
  only?: (id: string) => boolean,
): Promise<SuiteResult> {
  const { seeds, missing } = await makeSeeds(path.join(root, 'seeds'));
  const outside = path.join(root, 'outside', 'secret.bin');
  mkdirSync(path.dirname(outside), { recursive: true });
  writeFileSync(outside, 'not for the program to read');
  const runners = Array.from({ length: PARALLEL }, () => new InProcessRunner());
  const jobs: Array<(slot: number) => Promise<[Format, CaseResult]>> = [];
  for (const [format, list] of seeds) {
    const spec = FORMATS[format];
    const { cases, cli } = plan(format);
    for (let i = 0; i < cases; i++) {
      const seed = list[i % list.length];
      const id = `${format}#${runSeed}.${i}`;
      if (only && !only(id)) continue;
      const caseDir = path.join(root, 'cases', `${format}-${i}`);
      jobs.push(async (slot) => {
        // Drawn when the case runs: the runner holds one case's files at a time, not hundreds of megabytes.
        const damage = spec.mutate(seededRandom(hash(format) + i * 7919 + runSeed * 1_000_003), seed, outside);
        const args = spec.command(seed);
        const r = i < cli ? await runCase(id, seed, damage, args, caseDir) : { ...(await runners[slot].run(id, seed, damage, args, caseDir)), inProcess: true };
        onCase?.(format, r);
        return [format, r];
      });
    }
  }
  const results = await pool(jobs, PARALLEL).finally(() => {
    for (const r of runners) r.stop();
  });
  const counts: FormatCount[] = [];
  const fixed: string[] = [];
  for (const format of seeds.keys()) {
    const mine = results.filter(([f]) => f === format).map(([, r]) => r);
    const known = mine.filter((r) => r.verdict !== 'ok' && r.id in KNOWN_FAILING);
    fixed.push(...mine.filter((r) => r.verdict === 'ok' && r.id in KNOWN_FAILING).map((r) => r.id));
    counts.push({
      format,
      owner: FORMATS[format].owner,
      cases: mine.length,
      cli: Math.min(mine.length, plan(format).cli),
      passed: mine.filter((r) => r.verdict === 'ok').length,
      knownFailing: known.length,
      failed: mine.filter((r) => r.verdict !== 'ok' && !(r.id in KNOWN_FAILING)),
      maxMs: Math.max(0, ...mine.map((r) => r.ms)),
      maxRssMb: Math.max(0, ...mine.map((r) => r.peakRssMb)),
    });
  }
  return { counts, fixed, missing };
}

/** One line per format, and one per unexpected failure. */
export function describe(result: SuiteResult): string {
  const lines = result.counts.map(
    (c) =>
      `${c.format.padEnd(12)} ${String(c.cases).padStart(5)} cases (${String(c.cli).padStart(3)} as CLI processes)  ${String(c.passed).padStart(5)} passed  ${String(c.knownFailing).padStart(4)} known-failing (${c.owner})  ${c.failed.length} failed  max ${(c.maxMs / 1000).toFixed(1)} s, ${c.maxRssMb} MB`,
  );
  for (const c of result.counts)
    for (const f of c.failed)
      lines.push(
        `  FAIL ${f.id}${f.inProcess ? ' (in process)' : ''} [${f.verdict}: ${f.why}] ${f.label} :: transferkit ${f.args.join(' ')} :: ${f.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`,
      );
  if (result.fixed.length) lines.push(`NOTICE: known-failing cases that pass now (remove them from test/fuzz/known-failing.ts): ${result.fixed.join(', ')}`);
  for (const m of result.missing) lines.push(`NOTICE: seeds left out: ${m}`);
  return lines.join('\n');
}
