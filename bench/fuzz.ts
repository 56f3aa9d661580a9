// `npm run bench -- --only=fuzz [--cases=N] [--cli=M] [--seed=S] [--formats=keras,geotiff] [--ids=csv#1.7,...]`: the fuzz suite with
// more cases per format (default 300) from another draw (--seed, default 1; CI runs seed 0), the first M of each
// format (default: all) as CLI processes and the rest in the in-process runner. Prints per-format counts and
// every failure, and writes them to bench/results/fuzz-<date>.json. FUZZ_DEBUG=1 shows stack traces in the report.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../src/util/fs.js';
import type { Format } from '../test/fuzz/seeds.js';
import { describe, runSuite } from '../test/fuzz/suite.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** Runs the long fuzz draw; false when any case outside the known-failing list failed. */
export async function fuzzBench(resultsDir: string): Promise<boolean> {
  const cases = Number(arg('cases') ?? 300);
  const cli = Math.min(cases, Number(arg('cli') ?? cases));
  const formats = arg('formats')?.split(',');
  const ids = arg('ids')?.split(',');
  const result = await runSuite(
    scratchDir('transferkit-fuzz-'),
    (f: Format) => (!formats || formats.includes(f) ? { cases, cli } : { cases: 0, cli: 0 }),
    Number(arg('seed') ?? 1),
    (format, r) => {
      if (r.verdict !== 'ok') process.stderr.write(`${format}: ${r.id}${r.inProcess ? ' (in process)' : ''} ${r.verdict} (${r.why}) ${r.label}\n`);
    },
    ids && ((id) => ids.includes(id)),
  );
  process.stdout.write(describe(result) + '\n');
  const counts = result.counts.map(({ failed, ...c }) => ({
    ...c,
    failed: failed.map((f) => ({ id: f.id, verdict: f.verdict, why: f.why, label: f.label, args: f.args, inProcess: Boolean(f.inProcess) })),
  }));
  writeFileSync(
    path.join(resultsDir, `fuzz-${new Date().toISOString().slice(0, 10)}.json`),
    JSON.stringify({ counts, fixed: result.fixed, missing: result.missing }, null, 2) + '\n',
  );
  return result.counts.every((c) => c.failed.length === 0);
}
