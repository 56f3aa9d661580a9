import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { TINY_BASE, cli, makeImageFolder, tempDir } from './helpers.js';

describe('inspect', () => {
  test('every image with its loss, highest first; most confused pairs; CSV, JSON and a contact sheet', async () => {
    const dir = tempDir();
    const data = await makeImageFolder(path.join(dir, 'data'), { classes: ['ant', 'bee', 'cat'], perClass: 8 });
    const run = path.join(dir, 'run');
    assert.equal(cli(['train', data, ...TINY_BASE, '--epochs', '2', '--out', run]).code, 0);
    const out = path.join(dir, 'inspect');
    const r = cli(['inspect', run, data, '--top', '4', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as {
      rows: Array<{ file: string; trueClass: string; predictedClass: string; probability: number; trueProbability: number; loss: number }>;
      confused: Array<{ trueClass: string; predictedClass: string; count: number }>;
    };
    assert.equal(got.rows.length, 24);
    for (const [i, row] of got.rows.entries()) {
      assert.ok(Math.abs(row.loss + Math.log(row.trueProbability)) < 1e-6);
      assert.equal(path.basename(path.dirname(row.file)), row.trueClass);
      if (i) assert.ok(row.loss <= got.rows[i - 1].loss);
    }
    // The confused pairs are the evaluation's confusion matrix off its diagonal.
    const e = JSON.parse(cli(['evaluate', run, data, '--json']).stdout) as { confusionMatrix: number[][]; classNames?: string[] };
    const names = ['ant', 'bee', 'cat'];
    const off = e.confusionMatrix.flatMap((row, t) => row.map((count, p) => ({ t, p, count })).filter((c) => c.t !== c.p && c.count > 0));
    assert.deepEqual(
      got.confused.map((c) => `${c.trueClass}>${c.predictedClass}:${c.count}`).sort(),
      off.map((c) => `${names[c.t]}>${names[c.p]}:${c.count}`).sort(),
    );
    const csv = readFileSync(path.join(out, 'inspect.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 25);
    assert.equal(csv[1].split(',')[0], got.rows[0].file);
    const html = readFileSync(path.join(out, 'top-losses.html'), 'utf8');
    assert.equal(html.match(/<figure>/g)?.length, 4);
    assert.equal(html.match(/title="Grad-CAM of/g)?.length, 4);
    assert.ok(html.includes(got.rows[3].file) && !html.includes(got.rows[4].file));
    const bad = cli(['inspect', run, path.join(dir, 'nowhere')]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });
});
