// compare in the page (static build in Debian's Chromium): feature extraction against a fine-tune from
// conv_dw_12 on deer/truck, the same split and seed; the page shows Node's compare rows and one curve per strategy.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { noChromium, withPage } from './browser.js';
import { CIFAR_DIR, MOBILENET_H5, ROOT, needsShared } from './helpers.js';
import { type StaticServer, serveStatic } from './static-server.js';
import { PAIR, pairFolder } from './web-pair.js';

const WEB = path.join(ROOT, 'dist', 'web');
const skip = noChromium || needsShared(MOBILENET_H5) || needsShared(path.join(CIFAR_DIR, PAIR[1]));

describe('compare in the page (static build in Chromium)', { skip }, () => {
  let server: StaticServer;
  before(async () => {
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  it('feature extraction vs a fine-tune from conv_dw_12: a row and a curve each, the fine-tune training more weights', async () => {
    const folder = pairFolder();
    await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#weights', MOBILENET_H5);
      await page.setInputFiles('#folder', folder);
      await page.fill('#unfreeze-from', 'conv_dw_12');
      await page.click('#compare-button');
      await page.waitForFunction(() => document.getElementById('val-accuracy')?.textContent !== '–', undefined, { timeout: 400_000 });
      const log = (await page.textContent('#log')) ?? '';
      assert.doesNotMatch(log, /^error:/m, log);
      const rows = await page.$$eval('#compare-table tbody tr', (trs) =>
        trs.map((tr) => ({ strategy: (tr as HTMLElement).dataset.strategy, cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '') })),
      );
      process.stderr.write(`${rows.map((r) => r.cells.join(' | ')).join('\n')}\n`);
      assert.deepEqual(
        rows.map((r) => r.cells[0]),
        ['feature-extraction', 'fine-tune from conv_dw_12'],
      );
      const [fe, ft] = rows.map((r) => r.cells.slice(1).map(Number));
      // trainable params, total params, wall s, s/epoch, best val acc, final val acc
      assert.equal(fe[1], ft[1], 'the same model, so the same total');
      assert.ok(ft[0] > fe[0], `the fine-tune trains ${ft[0]} weights, feature extraction ${fe[0]}`);
      for (const r of [fe, ft]) {
        assert.ok(r[2] > 0 && r[3] > 0, 'no times');
        assert.ok(r[5] >= 0.95 && r[4] >= r[5], `validation accuracy ${r[5]} (best ${r[4]})`);
      }
      // One curve per strategy, a point per epoch the page logged for it.
      const points = await page.$$eval('#compare-curves polyline', (ls) =>
        ls.map((l) => [(l as SVGElement).dataset.strategy, (l.getAttribute('points') ?? '').split(' ').length] as const),
      );
      for (const [strategy, n] of points) assert.equal(n, log.match(new RegExp(`^${strategy} phase \\d epoch`, 'gm'))?.length, `${strategy}'s curve`);
      assert.deepEqual(points.map((p) => p[0]).sort(), ['feature-extraction', 'fine-tune']);
    });
  });
});
