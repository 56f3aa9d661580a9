// The fuzz suite in CI (issue 26, item 5): damaged copies of real files of every format the CLI reads, each run
// as the command a user would, must end in one clear line and exit 1 (or a counted skip, or success when the
// damage left the file valid), within LIMITS.seconds and 1 GB, opening nothing outside the case's folder.
// FUZZ_CASES=N sets the cases per format (default below); `node dist/bench/fuzz.js` draws more.
import assert from 'node:assert/strict';
import test from 'node:test';
import { MOBILENET_H5, needsShared, tempDir } from './helpers.js';
import type { Format } from './fuzz/seeds.js';
import { describe, runSuite } from './fuzz/suite.js';

/** Cases per format in CI: the whole set runs in a few minutes on 2 cores (about a second a case). */
const CI_CASES: Record<Format, number> = {
  photo: 25,
  geotiff: 30,
  keras: 30,
  'keras-h5': 30,
  'weights-h5': 25,
  'saved-model': 30,
  dicom: 20,
  onnx: 30,
  parquet: 12,
  arrow: 12,
  csv: 12,
};

test('fuzz: every damaged file ends in one clear line, in seconds, under 1 GB, opening nothing else', {
  skip: needsShared(MOBILENET_H5),
  timeout: 900_000,
}, async () => {
  const override = process.env.FUZZ_CASES ? Number(process.env.FUZZ_CASES) : undefined;
  const result = await runSuite(tempDir('transferkit-fuzz-'), (f) => override ?? CI_CASES[f], 0);
  const report = describe(result);
  process.stderr.write(`${report}\n`);
  const failed = result.counts.flatMap((c) => c.failed);
  assert.equal(failed.length, 0, `fuzz cases failed:\n${report}`);
  assert.ok(
    result.counts.every((c) => c.cases > 0 || override === 0),
    'every format has cases',
  );
});
