// What the page shows after training, checked against the run's own numbers and Node: the curves (one point per
// epoch), the validation confusion matrix (its cells sum to the validation count, its diagonal gives the reported
// accuracy), and try images (the labels and probabilities `transferkit predict` gives on the downloaded model).
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { cli } from './helpers.js';
import { download } from './web-downloads.js';

/** Checks the curves and the confusion matrix after a run that validated on `validated` images. */
export async function checkWatched(page: Page, validated: number): Promise<void> {
  const log = (await page.textContent('#log')) ?? '';
  const epochs = log.match(/^phase \d+ epoch \d+:/gm)?.length ?? 0;
  for (const series of ['loss', 'valLoss', 'valAccuracy']) {
    const points = await page.$eval(`#train-curves-svg polyline[data-series="${series}"]`, (l) => (l.getAttribute('points') ?? '').split(' ').length);
    assert.equal(points, epochs, `the ${series} curve has ${points} points for ${epochs} epochs`);
  }
  assert.ok(epochs > 1, 'no epochs logged');
  const matrix = await page.$$eval('#confusion tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent))));
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  assert.equal(total, validated, `the confusion matrix counts ${total} images, not ${validated}`);
  const right = matrix.reduce((n, row, i) => n + row[i], 0);
  const accuracy = Number(await page.textContent('#val-accuracy'));
  assert.ok(Math.abs(right / total - accuracy) < 1e-4, `the confusion matrix's accuracy ${right / total} vs the page's ${accuracy}`);
  assert.equal(await page.$$eval('#class-metrics tbody tr', (trs) => trs.length), matrix.length + 1, 'a row per class and the macro average');
}

/** Tries `images` in the page and checks each answer against `transferkit predict` on the page's Keras download. */
export async function checkTried(page: Page, images: string[]): Promise<void> {
  await page.setInputFiles('#try-images', images);
  await page.waitForSelector('#try-table', { timeout: 60_000 });
  const inPage = await page.$$eval('#try-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
  const r = cli(['predict', await download(page, 'download'), ...images, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const inNode = JSON.parse(r.stdout) as Array<{ label: string; predictions: Array<{ label: string; probability: number }> }>;
  assert.equal(inPage.length, images.length);
  for (const [i, [name, label, probability]] of inPage.entries()) {
    assert.equal(label, inNode[i].label, `${name}: the page says ${label}, transferkit predict ${inNode[i].label}`);
    const p = inNode[i].predictions.find((q) => q.label === label)?.probability ?? Number.NaN;
    assert.ok(Math.abs(Number(probability) - p) < 2e-4, `${name}: probability ${probability} in the page, ${p} in Node`);
  }
  process.stderr.write(`try images: ${inPage.map(([n, l, p]) => `${n} ${l} ${p}`).join('; ')}\n`);
}
