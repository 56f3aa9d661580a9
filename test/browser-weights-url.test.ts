// Weights by URL in Chromium: the static build and the MobileNet weights (from ../shared, served, never copied)
// on a plain static server that counts requests; checked against the registry's entry and kept in the Cache API.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MOBILENET } from '../src/applications/mobilenet.js';
import { noChromium, withPage } from './browser.js';
import { CIFAR_DIR, MOBILENET_H5, ROOT, needsShared, tempDir } from './helpers.js';
import { type StaticServer, serveStatic } from './static-server.js';

const WEB = path.join(ROOT, 'dist', 'web');
const FILE = path.basename(MOBILENET_H5);
const skip = noChromium || needsShared(MOBILENET_H5) || needsShared(path.join(CIFAR_DIR, 'ship'));

/** What the page's `transferkit.fetchWeights(url, o)` reports, or its error's message. */
const fetchInPage = (url: string, o: { sha256?: string } = {}) => `(async () => {
  try {
    const w = await globalThis.transferkit.fetchWeights(${JSON.stringify(url)}, ${JSON.stringify(o)});
    return { fromCache: w.fromCache, name: w.name, sha256: w.sha256, bytes: (await w.arrayBuffer()).byteLength };
  } catch (err) {
    return { error: err.message };
  }
})()`;

interface Fetched {
  fromCache?: boolean;
  name?: string;
  sha256?: string;
  bytes?: number;
  error?: string;
}

describe('weights by URL in the browser: hash-checked as in Node, kept in the Cache API', { skip }, () => {
  const requests = new Map<string, number>();
  let server: StaticServer;
  before(async () => {
    const good = readFileSync(MOBILENET_H5);
    const bad = Uint8Array.from(good);
    bad[bad.length >> 1] ^= 0xff;
    const files: Record<string, Uint8Array> = { [`/weights/${FILE}`]: good, [`/damaged/${FILE}`]: bad, '/weights/other.h5': good };
    server = await serveStatic(WEB, (p) => {
      if (files[p]) requests.set(p, (requests.get(p) ?? 0) + 1);
      return files[p];
    });
  });
  after(() => server?.close());

  it('the first load fetches, the next (after a reload) reads the cache; the base builds from the URL', async () => {
    const url = `${server.url}weights/${FILE}`;
    const entry = MOBILENET.weights.find((e) => e.file === FILE);
    await withPage(async (page) => {
      await page.goto(server.url);
      const first = (await page.evaluate(fetchInPage(url))) as Fetched;
      assert.deepEqual(first, { fromCache: false, name: FILE, sha256: entry?.sha256, bytes: readFileSync(MOBILENET_H5).length });
      await page.reload();
      const second = (await page.evaluate(fetchInPage(url))) as Fetched;
      assert.equal(second.fromCache, true);
      const params = await page.evaluate(`(async () => {
        const base = await globalThis.transferkit.buildBase(${JSON.stringify(url)}, { size: 96, alpha: 0.25 });
        return base.countParams();
      })()`);
      assert.equal(params, entry?.params);
    });
    assert.equal(requests.get(`/weights/${FILE}`), 1, 'the file was fetched more than once');
  });

  it('a damaged file is refused naming its URL, and not cached', async () => {
    const url = `${server.url}damaged/${FILE}`;
    await withPage(async (page) => {
      await page.goto(server.url);
      for (const _ of [1, 2]) {
        const r = (await page.evaluate(fetchInPage(url))) as Fetched;
        assert.match(
          r.error ?? '',
          new RegExp(
            `^${url.replaceAll('.', '\\.')}: this is not ${FILE.replaceAll('.', '\\.')} \\(sha256 [0-9a-f]{64}, expected ${MOBILENET.weights.find((e) => e.file === FILE)?.sha256}\\); the file is damaged or a different file, and was not cached$`,
          ),
        );
      }
    });
    assert.equal(requests.get(`/damaged/${FILE}`), 2, 'a refused file was served from the cache');
  });

  it('a file transferkit does not know by name is refused unless its sha256 is given', async () => {
    const url = `${server.url}weights/other.h5`;
    const sha256 = MOBILENET.weights.find((e) => e.file === FILE)?.sha256;
    await withPage(async (page) => {
      await page.goto(server.url);
      const r = (await page.evaluate(fetchInPage(url))) as Fetched;
      assert.equal(r.error, `${url}: other.h5 is not a weights file transferkit knows by name; pass its sha256 ({ sha256 }) so that it can be checked`);
      assert.equal(requests.get('/weights/other.h5'), undefined);
      const given = (await page.evaluate(fetchInPage(url, { sha256 }))) as Fetched;
      assert.deepEqual([given.name, given.sha256, given.fromCache], ['other.h5', sha256, false]);
    });
  });

  it('the page trains on weights given by URL: fetched the first time, read from the cache after a reload', async () => {
    const url = `${server.url}weights/${FILE}`;
    const before = requests.get(`/weights/${FILE}`) ?? 0;
    const folder = path.join(tempDir('tk-web-url-'), 'pair');
    for (const c of ['cat', 'ship']) {
      mkdirSync(path.join(folder, c), { recursive: true });
      for (const f of readdirSync(path.join(CIFAR_DIR, c)).slice(0, 20)) copyFileSync(path.join(CIFAR_DIR, c, f), path.join(folder, c, f));
    }
    const logs = await withPage(async (page) => {
      const out: string[] = [];
      for (const _ of [1, 2]) {
        await page.goto(server.url);
        await page.fill('#weights-url', url);
        await page.setInputFiles('#folder', folder);
        await page.click('#train');
        await page.waitForFunction(() => document.getElementById('val-accuracy')?.textContent !== '–', undefined, { timeout: 120_000 });
        out.push((await page.textContent('#log')) ?? '');
      }
      return out;
    });
    assert.match(logs[0], new RegExp(`^weights ${FILE.replaceAll('.', '\\.')} fetched from ${url.replaceAll('.', '\\.')} \\(sha256 checked\\)$`, 'm'));
    assert.match(logs[1], new RegExp(`^weights ${FILE.replaceAll('.', '\\.')} read from the cache \\(sha256 checked\\)$`, 'm'));
    for (const log of logs) assert.match(log, /^trained on 32, validated on 8/m);
    assert.equal((requests.get(`/weights/${FILE}`) ?? 0) - before, 1);
  });
});
