// Chromium's memory while the static page trains on a folder with its features in the Origin Private File System,
// and the page's thread answering meanwhile: the CI-sized check of issue 28's "flat memory, the page answering"
// (bench/browser-memory.ts runs it at 2,500, 5,000 and 10,000 images).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CIFAR_CLASSES, classFolder, noChromium } from './browser.js';
import { CIFAR_DIR, MOBILENET_H5, ROOT, needsShared } from './helpers.js';
import { trainWatched } from './page-memory.js';
import { type StaticServer, serveStatic } from './static-server.js';

const WEB = path.join(ROOT, 'dist', 'web');
const skip = noChromium || needsShared(MOBILENET_H5) || needsShared(path.join(CIFAR_DIR, 'truck'));

describe("the page's memory and thread while it trains (OPFS features)", { skip }, () => {
  let server: StaticServer;
  before(async () => {
    assert.ok(existsSync(path.join(WEB, 'index.html')), `${WEB} is missing: run npm run build:web`);
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  it('600 images in 10 classes: all of Chromium under 1 GB at its peak, the page never stalled for 1 s', async () => {
    const run = await trainWatched(server.url, classFolder(CIFAR_CLASSES, 60), { images: 600, timeoutMs: 120_000 });
    process.stderr.write(
      `600 images: Chromium ${run.beforeMiB} MiB before training, peak ${run.peakMiB} MiB (${JSON.stringify(run.peakByType)}, ${run.samples} samples); longest stall ${run.longestStallMs} ms; ${run.trainS} s; accuracy ${run.accuracy}\n`,
    );
    assert.match(run.log, /features kept in the Origin Private File System/);
    assert.match(run.log, /600 images in 10 classes/);
    assert.ok(run.accuracy > 0.3, `validation accuracy ${run.accuracy}: the page did not train`);
    assert.ok(run.samples >= 5, `${run.samples} memory samples`);
    // Measured here: about 600 MiB at the peak, the longest stall a few hundred ms on a loaded 2-core machine.
    assert.ok(run.peakMiB < 1024, `Chromium's peak ${run.peakMiB} MiB is over 1 GB`);
    assert.ok(run.longestStallMs < 1000, `the page stalled for ${run.longestStallMs} ms while training`);
  });
});
