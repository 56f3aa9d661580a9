import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { COMMANDS } from '../src/cli/commands/index.js';
import { cliReference } from '../src/cli/reference.js';
import { JOB_FIELDS } from '../src/ui/jobs.js';
import { ROOT, cli } from './helpers.js';

const DOC = path.join(ROOT, 'docs', 'cli.md');

describe('docs/cli.md', () => {
  test('is what npm run docs:cli writes from the flag declarations', async () => {
    assert.equal(readFileSync(DOC, 'utf8'), await cliReference(), 'docs/cli.md is stale: run npm run docs:cli');
  });

  test('holds, verbatim, what transferkit --help and every command --help print', () => {
    const doc = readFileSync(DOC, 'utf8');
    const main = cli(['--help']);
    assert.equal(main.code, 0);
    assert.ok(doc.includes('```text\n' + main.stdout), 'transferkit --help differs from docs/cli.md');
    for (const { name } of COMMANDS) {
      const r = cli([name, '--help']);
      assert.equal(r.code, 0, name);
      assert.ok(doc.includes(`## transferkit ${name}\n\n\`\`\`text\n${r.stdout}\`\`\``), `transferkit ${name} --help differs from docs/cli.md`);
    }
  });
});

describe('the flag table', () => {
  test('a flag name is one declaration (one parser) across the CLI, but for the few that mean another thing', async () => {
    // Same name, another flag: extract's --pooling also takes none, calibrate's --subset fits on validation|all,
    // duplicates' --threshold is a similarity, datasets' --bands a variant, export's --format a model format.
    const apart: Record<string, string> = { pooling: 'extract', subset: 'calibrate', threshold: 'duplicates', bands: 'datasets', format: 'export' };
    const parsers = new Map<string, Set<unknown>>();
    for (const entry of COMMANDS) {
      const cmd = await entry.load();
      const all = [...cmd.help, ...(cmd.also ?? [])].filter((h) => typeof h === 'object');
      for (const f of all) {
        const key = apart[f.name] === entry.name ? `${f.name}@${entry.name}` : f.name;
        const seen = parsers.get(key) ?? new Set();
        seen.add(f.parse);
        parsers.set(key, seen);
      }
    }
    const twice = [...parsers].filter(([, p]) => p.size > 1).map(([name]) => name);
    assert.deepEqual(twice, []);
    assert.ok(parsers.has('unfreeze-from') && parsers.has('epochs'));
  });

  test("the page's job fields are the options its flags set", () => {
    assert.deepEqual(JOB_FIELDS, [
      'base',
      'alpha',
      'inputSize',
      'strategy',
      'unfreezeFrom',
      'head',
      'epochs',
      'fineTuneEpochs',
      'batchSize',
      'learningRate',
      'optimizer',
      'validationSplit',
      'seed',
      'earlyStoppingPatience',
      'restoreBest',
      'reduceLrPatience',
      'augment',
      'featureCache',
      'regressionLoss',
      'engine',
      'stepsPerExecution',
      'bands',
      'bandScale',
      'bandAdaptation',
    ]);
  });
});
