// Resume after a reload, in Debian's Chromium against the static build: a run (feature extraction, then a
// fine-tune from conv_dw_12) is reloaded in its first phase; the page then offers Resume, the same files are
// picked again, and the resumed run must end exactly as the same run left alone: every epoch's numbers, the
// validation scores and the trained model's outputs, bit for bit; phase 1's features are read back, not computed.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { noChromium, withPage } from './browser.js';
import { CIFAR_DIR, MOBILENET_H5, ROOT, needsShared } from './helpers.js';
import { type StaticServer, serveStatic } from './static-server.js';
import { PAIR, pairFolder } from './web-pair.js';

const WEB = path.join(ROOT, 'dist', 'web');
const skip = noChromium || needsShared(MOBILENET_H5) || needsShared(path.join(CIFAR_DIR, PAIR[1]));

interface Run {
  history: Array<Record<string, unknown>>;
  val: Record<string, unknown>;
  outputs: number[];
  log: string;
}

/** Picks the weights and the folder (again, after a reload: a page keeps no files across one). */
async function pick(page: Page, folder: string): Promise<void> {
  await page.setInputFiles('#weights', MOBILENET_H5);
  await page.setInputFiles('#folder', folder);
  await page.fill('#unfreeze-from', 'conv_dw_12');
}

/** Waits for the run to end; its history, scores, outputs on a seeded batch, and log. */
async function finished(page: Page): Promise<Run> {
  await page.waitForFunction(() => document.getElementById('val-accuracy')?.textContent !== '–', undefined, { timeout: 300_000 });
  const log = (await page.textContent('#log')) ?? '';
  assert.doesNotMatch(log, /^error:/m, log);
  return (await page.evaluate(`(async () => {
    const random = globalThis.transferkit.seededRandom(7);
    const x = Float32Array.from({ length: 4 * 96 * 96 * 3 }, () => random() * 2 - 1);
    return { ...globalThis.lastRun, outputs: Array.from(await globalThis.predictTrained(x, 4)), log: document.getElementById('log').textContent };
  })()`)) as Run;
}

describe('resume after a reload (static build in Chromium)', { skip }, () => {
  let server: StaticServer;
  before(async () => {
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  it('a run reloaded in its first phase resumes from its last finished epoch and ends bit-equal to the run left alone', async () => {
    const folder = pairFolder();
    await withPage(async (page) => {
      await page.goto(server.url);
      await pick(page, folder);
      await page.click('#train');
      const whole = await finished(page);
      assert.equal(await page.isHidden('#resume'), true, 'a finished run leaves no checkpoint to resume');

      await page.goto(server.url);
      await pick(page, folder);
      await page.click('#train');
      await page.waitForFunction(() => /phase 1 epoch 3:/.test(document.getElementById('log')?.textContent ?? ''), undefined, { timeout: 300_000 });
      await page.reload();
      await page.waitForSelector('#resume:not([hidden])', { timeout: 30_000 });
      const note = (await page.textContent('#resume-note')) ?? '';
      const kept = /after phase 1 epoch (\d+)/.exec(note);
      assert.ok(kept, `the page offers no resume from phase 1: '${note}'`);
      await pick(page, folder);
      await page.click('#resume');
      const resumed = await finished(page);
      process.stderr.write(`${note}\n${resumed.log}`);
      assert.match(resumed.log, new RegExp(`resuming from the checkpoint after phase 1 epoch ${kept[1]}`));
      // Phase 1's features come back from the checkpoint folder; phase 2's are computed (its cut is new).
      assert.match(resumed.log, /features of the 1600 train images read back from the checkpoint folder/);
      assert.match(resumed.log, /features of the 400 validation images read back from the checkpoint folder/);
      assert.equal(resumed.log.match(/features of 2000 images computed/g)?.length, 1, 'features computed again in phase 1');
      assert.doesNotMatch(whole.log, /read back from the checkpoint folder/);
      // Only the epochs after the checkpoint ran again: the earlier ones are the checkpoint's.
      assert.doesNotMatch(resumed.log, new RegExp(`phase 1 epoch ${kept[1]}:`));
      assert.match(resumed.log, new RegExp(`phase 1 epoch ${Number(kept[1]) + 1}:`));
      assert.deepEqual(resumed.history, whole.history, 'the epochs differ from the run left alone');
      assert.deepEqual(resumed.val, whole.val, 'the validation scores differ from the run left alone');
      assert.deepEqual(resumed.outputs, whole.outputs, "the trained model's outputs differ from the run left alone");
      assert.equal(await page.isHidden('#resume'), true, 'the resumed run, finished, still offers Resume');
    });
  });
});
