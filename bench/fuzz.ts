// `node dist/bench/fuzz.js [--cases=N] [--seed=S] [--only=keras,geotiff]`: the fuzz suite with more cases per
// format (default 300) and another draw (--seed, default 1; the CI set is seed 0). Prints per-format counts
// and every failure; exit 1 when any case outside the known-failing list fails.
import { describe, runSuite } from '../test/fuzz/suite.js';
import type { Format } from '../test/fuzz/seeds.js';
import { scratchDir } from '../src/util/fs.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const cases = Number(arg('cases') ?? 300);
const only = arg('only')?.split(',');
const result = await runSuite(
  scratchDir('transferkit-fuzz-'),
  (f: Format) => (!only || only.includes(f) ? cases : 0),
  Number(arg('seed') ?? 1),
  (format, r) => {
    if (r.verdict !== 'ok') process.stderr.write(`${format}: ${r.id} ${r.verdict} (${r.why}) ${r.label}\n`);
  },
);
process.stdout.write(describe(result) + '\n');
process.exitCode = result.counts.some((c) => c.failed.length > 0) ? 1 : 0;
