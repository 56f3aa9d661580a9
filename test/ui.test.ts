import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { startUi } from '../src/ui/server.js';
import { DICOM_FIXTURES } from './dicom-data.js';
import { OUTPUT, noChromium, startUiProcess, withPage } from './browser.js';
import { makeImageFolder, tempDir } from './helpers.js';

describe('transferkit ui: paths stay inside the root', () => {
  let root: string;
  let outside: string;
  let ui: Awaited<ReturnType<typeof startUi>>;
  before(async () => {
    root = tempDir();
    outside = tempDir();
    await makeImageFolder(path.join(root, 'photos'), { perClass: 3 });
    writeFileSync(path.join(outside, 'secret.png'), 'secret');
    symlinkSync(outside, path.join(root, 'escape'));
    ui = await startUi({ root, port: 0, maxUpload: 50_000 });
  });
  after(() => ui.close());
  // The per-launch token goes in a header here; the browser test below uses the printed URL and its cookie.
  const get = (p: string, init?: RequestInit) => fetch(new URL(p, ui.url), { ...init, headers: { authorization: `token ${ui.token}`, ...init?.headers } });
  const zipBody = (body: Uint8Array): RequestInit => ({ method: 'POST', body: body as BodyInit, headers: { 'content-type': 'application/zip' } });
  const jsonBody = (body: string): RequestInit => ({ method: 'POST', body, headers: { 'content-type': 'application/json' } });

  test('a ../ path is refused', async () => {
    for (const p of ['../', '..%2F..%2Fetc']) {
      const r = await get(`/api/dataset?path=${p}`);
      assert.equal(r.status, 403, p);
      assert.match((await r.json()).error, /outside the UI's root/);
    }
    const absolute = await get('/api/dataset?path=/etc/passwd');
    assert.equal(absolute.status, 400);
    assert.match((await absolute.json()).error, /not an absolute one/);
    assert.equal((await get(`/api/files/${encodeURIComponent('../../etc/passwd')}`)).status, 403);
  });

  test('a symlink pointing outside is refused', async () => {
    const r = await get('/api/files/escape/secret.png');
    assert.equal(r.status, 403);
    assert.match((await r.json()).error, /leads outside the UI's root/);
    assert.equal((await get('/api/dataset?path=escape')).status, 403);
  });

  test('an oversized upload is refused and writes nothing', async () => {
    const r = await get('/api/upload?name=big', zipBody(new Uint8Array(60_000)));
    assert.equal(r.status, 413);
    assert.ok(!existsSync(path.join(root, 'uploads', 'big')));
  });

  test('a zip with ../ entries is refused; nothing lands outside the root', async () => {
    const zip = zipSync({ 'cats/a.png': new Uint8Array([1]), '../../evil.png': new Uint8Array([2]), 'dogs/../../../evil2.png': new Uint8Array([3]) });
    const r = await get('/api/upload?name=evil', zipBody(zip));
    assert.equal(r.status, 400);
    assert.match((await r.json()).error, /refused the archive entry/);
    assert.ok(!existsSync(path.join(root, 'uploads', 'evil')));
    assert.ok(!existsSync(path.join(root, '..', 'evil.png')) && !existsSync(path.join(root, 'evil.png')));
    assert.deepEqual(readdirSync(outside), ['secret.png']);
  });

  test('a good zip of class folders unpacks under uploads/ and lists as a dataset', async () => {
    const { readFileSync } = await import('node:fs');
    const png = readFileSync(path.join(root, 'photos', 'alpha', '000.png'));
    const zip = zipSync({ 'set/cats/1.png': png, 'set/cats/2.png': png, 'set/dogs/1.png': png, 'set/dogs/notes.txt': new Uint8Array([1]) });
    const r = await get('/api/upload?name=pets-v1', zipBody(zip));
    assert.equal(r.status, 200, await r.clone().text());
    assert.deepEqual(await r.json(), { path: 'uploads/pets-v1', images: 3 });
    const sets = (await (await get('/api/datasets')).json()) as Array<{ path: string }>;
    assert.deepEqual(sets.map((s) => s.path).sort(), ['photos', 'uploads/pets-v1']);
  });

  test('a second job while one runs is refused with a clear message', async () => {
    const body = JSON.stringify({ kind: 'train', data: 'photos', base: 'mobilenet', alpha: 0.25, weights: null, inputSize: 32, epochs: 30 });
    const first = await get('/api/jobs', jsonBody(body));
    assert.equal(first.status, 202);
    const second = await get('/api/jobs', jsonBody(body));
    assert.equal(second.status, 409);
    assert.match((await second.json()).error, /a training job is already running/);
    const { id } = (await first.json()) as { id: string };
    // A reloaded page fills its form from the running job's parameters, paths relative to the root.
    const running = (await (await get('/api/info')).json()) as { job: { id: string; params: Record<string, unknown> } };
    assert.equal(running.job.id, id);
    assert.deepEqual(
      { ...running.job.params, out: undefined },
      { kind: 'train', data: 'photos', base: 'mobilenet', alpha: 0.25, weights: null, inputSize: 32, epochs: 30, out: undefined },
    );
    assert.match(String(running.job.params.out), /^models\/photos-/);
    assert.equal((await get(`/api/jobs/${id}/cancel`, { method: 'POST' })).status, 200);
    for (let i = 0; i < 200; i++) {
      const info = (await (await get('/api/info')).json()) as { job: { status: string } };
      if (info.job.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const outsideJob = await get('/api/jobs', jsonBody(JSON.stringify({ kind: 'train', data: '../', base: 'mobilenet' })));
    assert.equal(outsideJob.status, 403);
  });
});

describe('transferkit ui in a browser (Playwright driving Debian chromium)', { skip: noChromium }, () => {
  let server: ChildProcess;
  let url: string;
  let root: string;
  let zipOfFlowers: string;
  before(async () => {
    root = tempDir();
    await makeImageFolder(path.join(root, 'flowers'), { perClass: 10, size: 32 });
    const { readFileSync } = await import('node:fs');
    const png = readFileSync(path.join(root, 'flowers', 'alpha', '000.png'));
    zipOfFlowers = path.join(tempDir(), 'my flowers.v2.zip');
    writeFileSync(zipOfFlowers, zipSync({ 'f/alpha/1.png': png, 'f/beta/1.png': png }));
    ({ server, url } = await startUiProcess(root));
  });
  after(() => void server.kill());

  test('pick a dataset, train one epoch with feature extraction, watch the curves, try an image', async () => {
    await withPage(async (page) => {
      await page.goto(url);
      // An upload from the page: its file name becomes a slug, and the new dataset is picked.
      await page.setInputFiles('[data-testid=upload]', zipOfFlowers);
      await page.waitForFunction(() => (document.querySelector('[data-testid=dataset]') as HTMLSelectElement | null)?.value === 'uploads/my_flowers_v2');
      await page.waitForSelector('[data-testid=classes] img');
      await page.selectOption('[data-testid=dataset]', 'flowers');
      await page.waitForSelector('[data-testid=classes] img');
      await page.selectOption('[data-testid=weights]', 'none');
      // The form's labels name their controls (what a screen reader announces, and what getByLabel finds).
      await page.getByLabel('Input size').fill('32');
      await page.getByLabel('Epochs').fill('1');
      assert.equal(await page.getByLabel('Weights').inputValue(), 'none');
      await page.click('[data-testid=start]');
      await page.waitForSelector('[data-testid=curves][data-epochs="1"]', { timeout: 120_000 });
      await page.waitForSelector('[data-testid=confusion]', { timeout: 120_000 });
      assert.match((await page.textContent('[data-testid=metrics]')) ?? '', /balanced accuracy \d+\.\d%, macro F1 [\d.]+ · ROC AUC [\d.]+, PR AUC/);
      assert.match((await page.textContent('[data-testid=progress]')) ?? '', /done/);
      // A reload re-attaches to the (finished) job: its curves come back.
      // The token went into a cookie and out of the address.
      assert.doesNotMatch(page.url(), /token/);
      await page.reload();
      await page.waitForSelector('[data-testid=curves][data-epochs="1"]', { timeout: 30_000 });
      // ...and the form comes back as it was left (local storage), not reset to its defaults.
      await page.waitForSelector('[data-testid=classes] img');
      // Restoring is asynchronous (the saved form, then the dataset's listing): wait for the select to show it.
      await page
        .waitForFunction(() => (document.querySelector('[data-testid=dataset]') as HTMLSelectElement | null)?.value === 'flowers', undefined, {
          timeout: 15_000,
        })
        .catch(() => undefined);
      assert.equal(await page.inputValue('[data-testid=dataset]'), 'flowers');
      assert.equal(await page.inputValue('[data-testid=weights]'), 'none');
      assert.equal(await page.inputValue('[data-testid=input-size]'), '32');
      assert.equal(await page.inputValue('[data-testid=epochs]'), '1');
      await page.waitForSelector('[data-testid=saved] input[type=radio]');
      await page.setInputFiles('[data-testid=try-file]', path.join(root, 'flowers', 'alpha', '000.png'));
      await page.waitForFunction(
        () => /(alpha|beta) \d+\.\d% .*\(tfjs (wasm|cpu)\)/.test(document.querySelector('[data-testid=answer]')?.textContent ?? ''),
        undefined,
        { timeout: 60_000 },
      );
      // Beside the answer, the server's Grad-CAM of the class it decided, at the model's input size.
      await page.waitForFunction(() => (document.querySelector('[data-testid=overlay]') as HTMLImageElement | null)?.naturalWidth === 32, undefined, {
        timeout: 60_000,
      });
      assert.match(
        (await page.textContent('[data-testid=gradcam-class]')) ?? '',
        /^Grad-CAM for (alpha|beta) \(conv_pw_13_relu\)server: (alpha|beta) \d+\.\d%/,
      );
      assert.match((await page.getAttribute('[data-testid=overlay]', 'src')) ?? '', /^data:image\/png;base64,/);
      // A DICOM file: the browser cannot show it, the server reads it (and answers) as the CLI would.
      await page.setInputFiles('[data-testid=try-file]', path.join(DICOM_FIXTURES, 'good', 'ct16-explicit-le.dcm'));
      await page.waitForFunction(() => /browser cannot show this file/.test(document.querySelector('[data-testid=answer]')?.textContent ?? ''), undefined, {
        timeout: 60_000,
      });
      await page.waitForFunction(() => (document.querySelector('[data-testid=overlay]') as HTMLImageElement | null)?.naturalWidth === 32, undefined, {
        timeout: 60_000,
      });
      assert.match((await page.textContent('[data-testid=gradcam-class]')) ?? '', /^Grad-CAM for (alpha|beta) /);
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: path.join(OUTPUT, 'ui.png'), fullPage: true });
      assert.ok(existsSync(path.join(OUTPUT, 'ui.png')));
    });
  });
});
