// The fuzz suite as a whole: seeds made once, cases drawn per format from a seed number (the same cases on
// every run), run two at a time, counted per format. Used by test/fuzz.test.ts and bench/fuzz.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../../src/util/random.js';
import { FORMATS } from './formats.js';
import { type CaseResult, pool, runCase } from './harness.js';
import { KNOWN_FAILING } from './known-failing.js';
import { type Format, makeSeeds } from './seeds.js';

export interface FormatCount {
  format: Format;
  owner: string;
  cases: number;
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

const hash = (s: string) => [...s].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);

/**
 * Runs `perFormat(format)` cases of each format under `root`, drawn from `runSeed` (0 is the CI set, which
 * known-failing.ts names).
 */
export async function runSuite(
  root: string,
  perFormat: (f: Format) => number,
  runSeed = 0,
  onCase?: (format: Format, r: CaseResult) => void,
): Promise<SuiteResult> {
  const { seeds, missing } = await makeSeeds(path.join(root, 'seeds'));
  const outside = path.join(root, 'outside', 'secret.bin');
  mkdirSync(path.dirname(outside), { recursive: true });
  writeFileSync(outside, 'not for the program to read');
  const jobs: Array<() => Promise<[Format, CaseResult]>> = [];
  for (const [format, list] of seeds) {
    const spec = FORMATS[format];
    for (let i = 0; i < perFormat(format); i++) {
      const seed = list[i % list.length];
      const id = `${format}#${runSeed}.${i}`;
      const caseDir = path.join(root, 'cases', `${format}-${i}`);
      jobs.push(async () => {
        // Drawn when the case runs: the runner holds one case's files at a time, not hundreds of megabytes.
        const damage = spec.mutate(seededRandom(hash(format) + i * 7919 + runSeed * 1_000_003), seed, outside);
        const r = await runCase(id, seed, damage, spec.command(seed), caseDir);
        onCase?.(format, r);
        return [format, r];
      });
    }
  }
  const results = await pool(jobs, 2);
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
      `${c.format.padEnd(12)} ${String(c.cases).padStart(5)} cases  ${String(c.passed).padStart(5)} passed  ${String(c.knownFailing).padStart(4)} known-failing (${c.owner})  ${c.failed.length} failed  max ${(c.maxMs / 1000).toFixed(1)} s, ${c.maxRssMb} MB`,
  );
  for (const c of result.counts)
    for (const f of c.failed)
      lines.push(
        `  FAIL ${f.id} [${f.verdict}: ${f.why}] ${f.label} :: transferkit ${f.args.join(' ')} :: ${f.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`,
      );
  if (result.fixed.length) lines.push(`NOTICE: known-failing cases that pass now (remove them from test/fuzz/known-failing.ts): ${result.fixed.join(', ')}`);
  for (const m of result.missing) lines.push(`NOTICE: seeds left out: ${m}`);
  return lines.join('\n');
}
