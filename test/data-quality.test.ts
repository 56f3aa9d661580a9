import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readExclusionList } from '../src/data/exclusions.js';
import { findLabelIssues } from '../src/data-quality/label-issues.js';
import { CIFAR_DIR, MOBILENET_H5, TINY_BASE, cli, makeImageFolder, needsShared, tempDir } from './helpers.js';

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

describe("confident learning, by the paper's definitions", () => {
  test('thresholds, confident joint, off-diagonal issues, suggestions and ranking', () => {
    // Three classes; rows are out-of-fold probabilities.
    const p = [
      [0.9, 0.05, 0.05], // labelled 0, confidently 0
      [0.8, 0.1, 0.1], //   0, confidently 0
      [0.1, 0.85, 0.05], // 0, but confidently 1: an issue, suggested 1
      [0.2, 0.7, 0.1], //   1
      [0.1, 0.8, 0.1], //   1
      [0.65, 0.25, 0.1], // 1, but confidently 0 (0.65 ≥ t0): an issue
      [0.1, 0.1, 0.8], //   2
      [0.3, 0.3, 0.4], //   2, below every threshold: not counted in the joint
    ];
    const labels = [0, 0, 0, 1, 1, 1, 2, 2];
    const r = findLabelIssues(Float64Array.from(p.flat()), labels, 3, { filter: 'confident-joint' });
    // t_j = mean p_j over the rows labelled j.
    const t = [(0.9 + 0.8 + 0.1) / 3, (0.7 + 0.8 + 0.25) / 3, (0.8 + 0.4) / 2];
    r.thresholds.forEach((v, j) => assert.ok(Math.abs(v - t[j]) < 1e-12));
    // Row 5: p0 = 0.65 ≥ t0 = 0.6 and p1 = 0.25 < t1 ≈ 0.58, so it counts under 0. Row 7: 0.4 < t2 = 0.6, none.
    assert.deepEqual(r.confidentJoint, [
      [2, 1, 0],
      [1, 2, 0],
      [0, 0, 1],
    ]);
    assert.deepEqual(
      r.issues.map((x) => [x.index, x.given, x.suggested]),
      [
        [2, 0, 1],
        [5, 1, 0],
      ],
    );
    // Ranked by self-confidence, lowest first; the normalized margin ranks by p(given) − max p(other).
    assert.ok(r.issues[0].selfConfidence <= r.issues[1].selfConfidence);
    assert.ok(Math.abs(r.issues[1].margin - (0.25 - 0.65)) < 1e-12);
  });

  test("review lists round-trip through train --exclude's reader", async () => {
    const dir = tempDir();
    const list = path.join(dir, 'review.csv');
    writeFileSync(
      list,
      'file,given_label,suggested_label,self_confidence,action\n"a,b.jpg",cat,dog,0.1,relabel\nkeep.jpg,cat,dog,0.2,keep\nsub/x.png,dog,cat,0.3,remove\n',
    );
    assert.deepEqual(await readExclusionList(list), [path.join(dir, 'a,b.jpg'), path.join(dir, 'sub', 'x.png')]);
    writeFileSync(list, 'name,label\n');
    await assert.rejects(readExclusionList(list), /no 'file' column/);
  });
});

/** CIFAR-10 test images `from`–`to` of each class as files named <class>-<i>.jpg in folder `as` (or their own class). */
function cifarLinks(dir: string, cls: string, from: number, to: number, as = cls): string[] {
  mkdirSync(path.join(dir, as), { recursive: true });
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    const file = path.join(dir, as, `${cls}-${String(i).padStart(4, '0')}.jpg`);
    symlinkSync(path.join(CIFAR_DIR, cls, `${String(i).padStart(4, '0')}.jpg`), file);
    out.push(file);
  }
  return out;
}

describe('label-issues, duplicates and train --exclude on CIFAR-10', { skip: needsShared(MOBILENET_H5) || needsShared(CIFAR_DIR) }, () => {
  const base = ['--base', 'mobilenet', '--alpha', '0.25', '--weights', MOBILENET_H5, '--input-size', '96'];

  test('flipped labels are found; the review list leaves them out of training', () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    // 150 airplanes and 150 frogs, 15 of each filed under the other class.
    cifarLinks(data, 'airplane', 0, 135);
    cifarLinks(data, 'frog', 0, 135);
    const flipped = new Set([...cifarLinks(data, 'airplane', 135, 150, 'frog'), ...cifarLinks(data, 'frog', 135, 150, 'airplane')]);
    const review = path.join(dir, 'review.csv');
    const r = cli(['label-issues', data, ...base, '--fix', review, '--out', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { images: number; issues: Array<{ file: string; givenClass: string; suggestedClass: string }> };
    assert.equal(got.images, 300);
    const hits = got.issues.filter((x) => flipped.has(x.file));
    assert.ok(hits.length >= 0.7 * flipped.size, `recall ${hits.length}/${flipped.size}`);
    assert.ok(hits.length >= 0.8 * got.issues.length, `precision ${hits.length}/${got.issues.length}`);
    for (const x of hits) assert.notEqual(x.suggestedClass, x.givenClass);
    const page = readFileSync(path.join(dir, 'label-issues.html'), 'utf8');
    assert.equal(page.match(/<figure><img src="data:image\/png;base64,/g)?.length, got.issues.length);
    const rows = readFileSync(review, 'utf8').trim().split('\n');
    assert.equal(rows.length, got.issues.length + 1);
    const t = cli(['train', data, ...base, '--epochs', '1', '--exclude', review, '--json']);
    assert.equal(t.code, 0, t.stderr);
    const images = JSON.parse(t.stdout).images as { train: number; validation: number };
    assert.equal(images.train + images.validation, 300 - got.issues.length);
    assert.match(t.stderr, new RegExp(`left out ${got.issues.length} image\\(s\\) on the exclusion list`));
  });

  test('exact and resized copies across training, validation and a test folder; train warns of them', async () => {
    const { default: sharp } = await import('sharp');
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const test = path.join(dir, 'test');
    const train = [...cifarLinks(data, 'airplane', 0, 40), ...cifarLinks(data, 'frog', 0, 40)];
    cifarLinks(test, 'airplane', 900, 920);
    cifarLinks(test, 'frog', 900, 920);
    // An exact copy in the test folder, and a copy re-encoded at 48×48 in the training folder.
    copyFileSync(path.join(CIFAR_DIR, 'airplane', '0003.jpg'), path.join(test, 'airplane', 'copy.jpg'));
    await sharp(path.join(CIFAR_DIR, 'frog', '0007.jpg'))
      .resize(48, 48)
      .jpeg({ quality: 90 })
      .toFile(path.join(data, 'frog', 'resized.jpg'));
    const fix = path.join(dir, 'dups.csv');
    const r = cli(['duplicates', data, test, ...base, '--fix', fix, '--out', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { images: number; groups: Array<{ kind: string; leak: boolean; members: Array<{ file: string; place: string }> }> };
    assert.equal(got.images, 122);
    const groupOf = (file: string) => got.groups.find((g) => g.members.some((m) => m.file === file));
    const exact = groupOf(path.join(test, 'airplane', 'copy.jpg'));
    assert.equal(exact?.kind, 'exact');
    assert.ok(exact?.leak && exact.members.some((m) => m.file === train[3]));
    const near = groupOf(path.join(data, 'frog', 'resized.jpg'));
    assert.equal(near?.kind, 'near');
    assert.ok(near?.members.some((m) => m.file === train[47]));
    const page = readFileSync(path.join(dir, 'duplicates.html'), 'utf8');
    assert.equal(page.match(/<h2>Group \d+: /g)?.length, got.groups.length);
    assert.match(page, /<h2>Group 1: exact — LEAK<\/h2>/);
    const listed = readFileSync(fix, 'utf8');
    assert.match(listed, /copy\.jpg,airplane,\d+,exact,.*,remove/);
    // train sees the exact copy when the split puts both sides of it apart: make that so with a copy in the same class folder.
    copyFileSync(path.join(CIFAR_DIR, 'frog', '0011.jpg'), path.join(data, 'frog', 'again.jpg'));
    const warn = cli(['train', data, ...base, '--epochs', '1', '--validation-split', '0.5']);
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /the validation split holds \d+ exact copies of training images, \d+ with a training image of cosine similarity ≥ 0.95/);
  });
});

describe('the new commands', () => {
  test('--help, and one-line errors on bad input', () => {
    for (const cmd of ['add-class', 'calibrate', 'inspect', 'label-issues', 'duplicates']) {
      const r = cli([cmd, '--help']);
      assert.equal(r.code, 0, cmd);
      assert.match(r.stdout, new RegExp(`Usage: transferkit ${cmd}`));
    }
    const dir = tempDir();
    for (const args of [
      ['add-class', path.join(dir, 'nothing'), dir],
      ['calibrate', path.join(dir, 'nothing'), dir],
      ['label-issues', path.join(dir, 'nothing'), ...TINY_BASE, '--filter', 'some'],
      ['duplicates', dir, ...TINY_BASE, '--threshold', '2'],
    ]) {
      const r = cli(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
