// The page's Data tab (issue 29): a k-NN model trained on two CIFAR-10 classes with the real MobileNet weights,
// its data folder holding planted label flips and copies. In Chromium: the three lists show rows, one relabel
// writes review.csv (read back as `train --exclude` reads it, every image left where it was), and a class added
// from an uploaded zip is what the grown model predicts for an unseen image of it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { readExclusionList } from '../src/data/exclusions.js';
import { OUTPUT, noChromium, startUiProcess, withPage } from './browser.js';
import { startUi } from '../src/ui/server.js';
import { CIFAR_DIR, MOBILENET_H5, TINY_BASE, cli, makeImageFolder, needsShared, tempDir } from './helpers.js';

/** Every file under `dir` with its size and modification time: what the page must leave as it was. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .map((f) => {
      const s = statSync(path.join(dir, f));
      return `${f}:${s.size}:${s.mtimeMs}`;
    })
    .sort();
}

const cifar = (cls: string, i: number) => path.join(CIFAR_DIR, cls, `${String(i).padStart(4, '0')}.jpg`);

describe('transferkit ui: the Data tab in a browser (real MobileNet, CIFAR-10)', {
  skip: noChromium || needsShared(MOBILENET_H5) || needsShared(CIFAR_DIR),
}, () => {
  let server: ChildProcess;
  let url: string;
  let root: string;
  let shipZip: string;
  let imagesBefore: string[];
  const pets = () => path.join(root, 'pets');

  before(async () => {
    root = tempDir();
    // 24 automobiles and 24 frogs; 3 frogs filed under automobile (label flips); 2 byte-for-byte copies.
    for (const cls of ['automobile', 'frog']) {
      mkdirSync(path.join(pets(), cls), { recursive: true });
      for (let i = 0; i < 24; i++) copyFileSync(cifar(cls, i), path.join(pets(), cls, path.basename(cifar(cls, i))));
    }
    for (const i of [24, 25, 26]) copyFileSync(cifar('frog', i), path.join(pets(), 'automobile', `flip-frog-${i}.jpg`));
    copyFileSync(cifar('automobile', 0), path.join(pets(), 'automobile', 'copy-0000.jpg'));
    copyFileSync(cifar('frog', 1), path.join(pets(), 'frog', 'copy-0001.jpg'));
    // The weights under the root: the server reads no file outside it.
    mkdirSync(path.join(root, 'weights'));
    const weights = path.join(root, 'weights', 'mobilenet.h5');
    copyFileSync(MOBILENET_H5, weights);
    const t = cli([
      'train',
      pets(),
      ...['--base', 'mobilenet', '--alpha', '0.25', '--weights', weights, '--input-size', '96', '--head', 'knn'],
      ...['--out', path.join(root, 'models', 'pets-knn')],
    ]);
    assert.equal(t.code, 0, t.stderr);
    // The new class: 12 ships, zipped outside the root as a user would have them.
    const entries = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`ships/${i}.jpg`, readFileSync(cifar('ship', i))]));
    shipZip = path.join(tempDir(), 'ships.zip');
    writeFileSync(shipZip, zipSync(entries));
    imagesBefore = snapshot(pets());
    ({ server, url } = await startUiProcess(root));
  });
  after(() => {
    server.kill();
    assert.deepEqual(snapshot(pets()), imagesBefore, 'no image moved, changed or deleted');
  });

  test('scan: the three lists show rows; one relabel writes review.csv; a class added from a zip is predicted', async () => {
    await withPage(async (page) => {
      await page.goto(url);
      await page.click('[data-testid=tab-data]');
      // (The options' values are properties, not attributes: a CSS selector cannot wait for them.)
      const listed = (select: string, value: string) =>
        page.waitForFunction(
          ([s, v]) => [...document.querySelectorAll(`[data-testid=${s}] option`)].some((o) => (o as HTMLOptionElement).value === v),
          [select, value],
        );
      await listed('data-model', 'models/pets-knn');
      await listed('data-folder', 'pets');
      await page.selectOption('[data-testid=data-model]', 'models/pets-knn');
      await page.selectOption('[data-testid=data-folder]', 'pets');
      await page.click('[data-testid=scan]');
      // Progress while it runs, then the lists.
      await page.waitForFunction(() => /^step [123]\/3: /.test(document.querySelector('[data-testid=scan-progress]')?.textContent ?? ''), undefined, {
        timeout: 60_000,
      });
      await page.waitForFunction(() => /^done: 53 images/.test(document.querySelector('[data-testid=scan-progress]')?.textContent ?? ''), undefined, {
        timeout: 180_000,
      });
      const rows = async (list: string) => page.locator(`[data-testid=${list}] tr:has(td)`).allTextContents();
      const losses = await rows('top-losses');
      assert.ok(losses.length >= 10, `top losses: ${losses.length} rows`);
      assert.match(losses[0], /flip-frog-\d+\.jpgautomobilefrog/, 'a planted flip has the highest loss');
      const issues = await rows('label-issues');
      assert.ok(
        issues.some((r) => /flip-frog-24\.jpgautomobilefrog/.test(r)),
        `label issues: ${issues.join(' | ')}`,
      );
      const groups = await page.locator('[data-testid=duplicate-group]').allTextContents();
      assert.ok(
        groups.some((g) => /exact.*0000\.jpg.*copy-0000\.jpg/s.test(g)),
        `duplicate groups: ${groups.join(' | ')}`,
      );
      // Thumbnails come from the server (96 pixels).
      await page.waitForFunction(() => (document.querySelector('[data-testid=label-issues] img') as HTMLImageElement | null)?.naturalWidth === 96);

      // Relabel one flip to frog: the row's class picker, then Relabel.
      const row = page.locator('[data-testid=label-issues] tr', { hasText: 'flip-frog-24.jpg' });
      await row.locator('[data-testid=relabel-class]').selectOption('frog');
      await row.locator('[data-testid=relabel]').click();
      await row.locator('[data-testid=decision]', { hasText: 'relabel → frog' }).waitFor();
      assert.match((await page.textContent('[data-testid=review-list]')) ?? '', /1 decision\(s\) in models\/pets-knn\/review\.csv/);
      const list = path.join(root, 'models', 'pets-knn', 'review.csv');
      const [header, line, ...more] = readFileSync(list, 'utf8').trim().split('\n');
      assert.equal(header, 'file,given_label,suggested_label,self_confidence,action');
      assert.match(line, /^\.\.\/\.\.\/pets\/automobile\/flip-frog-24\.jpg,automobile,frog,[\d.]*,relabel$/);
      assert.deepEqual(more, []);
      assert.deepEqual(await readExclusionList(list), [path.join(pets(), 'automobile', 'flip-frog-24.jpg')]);
      // After a reload the last scan comes back from the server, and the decision from review.csv, shown in
      // every list that holds the image.
      await page.reload();
      await page.click('[data-testid=tab-data]');
      await page
        .locator('[data-testid=top-losses] tr', { hasText: 'flip-frog-24.jpg' })
        .locator('[data-testid=decision]', { hasText: 'relabel → frog' })
        .waitFor();

      // Add a class from the zip of ships, then an unseen ship.
      await page.fill('[data-testid=class-name]', 'ship');
      await page.setInputFiles('[data-testid=class-files]', shipZip);
      await page.waitForFunction(
        () =>
          /models\/pets-knn-ship: 3 classes \(automobile, frog, ship\), 12 images added/.test(document.querySelector('[data-testid=added]')?.textContent ?? ''),
        undefined,
        { timeout: 60_000 },
      );
      await page.setInputFiles('[data-testid=class-try]', cifar('ship', 101));
      await page.waitForFunction(() => /^ship \d+\.\d%/.test(document.querySelector('[data-testid=class-answer]')?.textContent ?? ''), undefined, {
        timeout: 60_000,
      });
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: path.join(OUTPUT, 'ui-data.png'), fullPage: true });
    });
  });
});

describe("transferkit ui: the Data tab's scan over the API (random-weight MobileNet, generated images)", () => {
  let root: string;
  let outside: string;
  let ui: Awaited<ReturnType<typeof startUi>>;
  const get = (p: string, init?: RequestInit) => fetch(new URL(p, ui.url), { ...init, headers: { authorization: `token ${ui.token}`, ...init?.headers } });
  const scan = (model: string) =>
    get('/api/data/scan', { method: 'POST', body: JSON.stringify({ model, data: 'photos' }), headers: { 'content-type': 'application/json' } });
  /** Polls the scan until it ends; returns its last state and every progress line seen. */
  const finished = async () => {
    const seen = new Set<string>();
    for (;;) {
      const s = (await (await get('/api/data/scan')).json()) as {
        status: string;
        progress: { step: number; name: string };
        result: Record<string, unknown[]> | null;
        error: string | null;
      };
      if (s.status !== 'running') return { ...s, seen };
      seen.add(`${s.progress.step}: ${s.progress.name}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    root = tempDir();
    outside = tempDir();
    await makeImageFolder(path.join(root, 'photos'), { perClass: 8, size: 32 });
    copyFileSync(path.join(root, 'photos', 'alpha', '000.png'), path.join(root, 'photos', 'alpha', 'copy.png'));
    const t = cli(['train', path.join(root, 'photos'), ...TINY_BASE, '--head', 'knn', '--out', path.join(root, 'models', 'knn')]);
    assert.equal(t.code, 0, t.stderr);
    // The same model, its metadata naming a weights file outside the root.
    mkdirSync(path.join(root, 'models', 'foreign'));
    for (const f of readdirSync(path.join(root, 'models', 'knn'))) copyFileSync(path.join(root, 'models', 'knn', f), path.join(root, 'models', 'foreign', f));
    writeFileSync(path.join(outside, 'weights.h5'), 'not read');
    const meta = JSON.parse(readFileSync(path.join(root, 'models', 'foreign', 'transferkit.json'), 'utf8'));
    meta.base.weights = path.join(outside, 'weights.h5');
    writeFileSync(path.join(root, 'models', 'foreign', 'transferkit.json'), JSON.stringify(meta));
    ui = await startUi({ root, port: 0 });
  });
  after(() => ui.close());

  test('the scan runs in the background with progress, and returns the three lists with paths under the root', async () => {
    assert.equal((await scan('models/knn')).status, 202);
    const busy = await scan('models/knn');
    assert.equal(busy.status, 409, 'one scan at a time');
    const s = await finished();
    assert.equal(s.status, 'done', s.error ?? '');
    assert.ok(
      [...s.seen].some((p) => /^[123]: /.test(p)),
      `progress seen: ${[...s.seen].join('; ')}`,
    );
    const r = s.result as unknown as {
      topLosses: Array<{ file: string }>;
      issues: unknown[];
      duplicates: Array<{ kind: string; members: Array<{ file: string }> }>;
      images: number;
    };
    assert.equal(r.images, 17);
    assert.equal(r.topLosses.length, 17);
    assert.ok(Array.isArray(r.issues));
    const exact = r.duplicates.find((g) => g.kind === 'exact');
    assert.deepEqual(exact?.members.map((m) => m.file).sort(), ['photos/alpha/000.png', 'photos/alpha/copy.png']);
    assert.ok(!JSON.stringify(r).includes(root), 'no server path in the answer');
  });

  test('a model whose weights file lies outside the root: the scan fails with a message, and reads nothing there', async () => {
    assert.equal((await scan('models/foreign')).status, 202);
    const s = await finished();
    assert.equal(s.status, 'failed');
    assert.match(s.error ?? '', /weights file is not under the UI's root/);
    assert.ok(!(s.error ?? '').includes(outside));
  });
});
