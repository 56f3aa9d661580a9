// The fuzz suite in CI (issue 26, item 5): damaged copies of real files of every format the CLI reads, each run
// as the command a user would, must end in one clear line and exit 1 (or a counted skip, or success when the
// damage left the file valid), within LIMITS.seconds and 1 GB, opening nothing outside the case's folder.
// Per format, the first CI_CLI cases run as CLI processes and the rest in the in-process runner (the same
// command through the CLI's runCli; a refusal must also be a TransferkitError there).
// FUZZ_CASES=N and FUZZ_CLI_CASES=N override the counts; `npm run bench -- --only=fuzz` draws more.
import assert from 'node:assert/strict';
import test from 'node:test';
import { MOBILENET_H5, needsShared, tempDir } from './helpers.js';
import { describe, runSuite } from './fuzz/suite.js';

/** Cases per format in CI, and how many of them run as CLI processes (about a second each on 2 cores). */
const CI_CASES = 200;
const CI_CLI = 6;

test('fuzz: every damaged file ends in one clear line, in seconds, under 1 GB, opening nothing else', {
  skip: needsShared(MOBILENET_H5),
  timeout: 1_500_000,
}, async () => {
  const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
  const cases = env('FUZZ_CASES', CI_CASES);
  const cli = Math.min(cases, env('FUZZ_CLI_CASES', CI_CLI));
  const started = Date.now();
  const result = await runSuite(tempDir('transferkit-fuzz-'), () => ({ cases, cli }), 0);
  const report = describe(result);
  process.stderr.write(`${report}\nfuzz: ${result.counts.reduce((n, c) => n + c.cases, 0)} cases in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  const failed = result.counts.flatMap((c) => c.failed);
  assert.equal(failed.length, 0, `fuzz cases failed:\n${report}`);
  assert.ok(
    result.counts.every((c) => c.cases > 0 || cases === 0),
    'every format has cases',
  );
});
