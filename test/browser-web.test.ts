// The static build (npm run build:web) in Debian's Chromium, served by a plain static file server with the
// isolation headers: the real MobileNet weights and two CIFAR-10 classes picked through the page's file inputs,
// trained in the page; and one training step in the page against the same step in Node.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { mobilenet } from '../src/applications/index.js';
import { decodePhoto } from '../src/data/photo.js';
import { initBackend } from '../src/engine/backend.js';
import { optimizerSpec } from '../src/engine/optimizers.js';
import { addHead, applyStrategy, createTrainer } from '../src/index.js';
import { seededRandom } from '../src/util/random.js';
import { longestStall, noChromium, watchStalls, withPage } from './browser.js';
import { CIFAR_DIR, MOBILENET_H5, ROOT, SHARED, needsShared, tempDir } from './helpers.js';
import { checkDownloads } from './web-downloads.js';
import { PAIR, pairFolder } from './web-pair.js';
import { type StaticServer, serveStatic } from './static-server.js';
import { checkTried, checkWatched } from './web-watch.js';
import { type StepOutcome, stepOnce } from './web-step.js';
import { maxRelative } from './relative.js';

const WEB = path.join(ROOT, 'dist', 'web');
const skip = noChromium || needsShared(MOBILENET_H5) || needsShared(path.join(CIFAR_DIR, PAIR[1]));

/** A file named as Keras weights that is not HDF5. */
function notWeights(): string {
  const file = path.join(tempDir('tk-web-bad-'), 'notes.h5');
  writeFileSync(file, 'not HDF5');
  return file;
}

/** Clicks Train and waits for the page's error; its log. */
async function trainToError(page: Page): Promise<string> {
  await page.click('#train');
  await page.waitForFunction(() => document.getElementById('val-accuracy')?.textContent === 'error', undefined, { timeout: 60_000 });
  return (await page.textContent('#log')) ?? '';
}

describe('the static build trains in Chromium (onnxruntime-web, no transferkit server)', { skip }, () => {
  let server: StaticServer;
  before(async () => {
    assert.ok(existsSync(path.join(WEB, 'index.html')), `${WEB} is missing: run npm run build:web`);
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  /** Picks the weights and the pair in the page, trains (then fine-tunes from `unfreezeFrom`); the page's log and accuracy. */
  async function trainInPage(unfreezeFrom: string): Promise<{ log: string; accuracy: number }> {
    const folder = pairFolder();
    return withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#weights', MOBILENET_H5);
      await page.setInputFiles('#folder', folder);
      await page.fill('#unfreeze-from', unfreezeFrom);
      // The page's thread while the worker trains: the longest gap between ticks of a 20 ms timer.
      await watchStalls(page);
      await page.click('#train');
      await page.waitForFunction(() => document.getElementById('val-accuracy')?.textContent !== '–', undefined, { timeout: 300_000 });
      const gap = await longestStall(page);
      process.stderr.write(`the page's thread while training: longest timer gap ${gap.toFixed(0)} ms\n`);
      // Measured 228 ms at worst here (2 cores shared with other work); the bound leaves room for a loaded machine.
      assert.ok(gap < 1000, `the page stalled for ${gap} ms while training`);
      const log = (await page.textContent('#log')) ?? '';
      const accuracy = Number(await page.textContent('#val-accuracy'));
      process.stderr.write(`${log}validation accuracy in the page: ${accuracy}\n`);
      assert.match(log, /cross-origin isolated: true .*; features kept in the Origin Private File System/);
      assert.match(log, /2000 images in 2 classes \(deer, truck\)/);
      assert.match(log, /trained on 1600, validated on 400/);
      await checkDownloads(page, { size: 96, classNames: PAIR, images: PAIR.map((c) => path.join(CIFAR_DIR, c, '0999.jpg')) });
      await checkWatched(page, 400);
      await checkTried(
        page,
        PAIR.flatMap((c) => ['0990.jpg', '0995.jpg', '0999.jpg'].map((f) => path.join(CIFAR_DIR, c, f))),
      );
      return { log, accuracy };
    });
  }

  it('feature extraction on deer/truck at 96×96 reaches ≥ 95% validation accuracy; a fine-tune from conv_dw_12 after it lowers the loss', async () => {
    const { log, accuracy } = await trainInPage('conv_dw_12');
    const phase = (p: number) => {
      const m = new RegExp(`phase ${p} \\(from (\\w+)\\): validation loss ([\\d.]+), accuracy ([\\d.]+)`).exec(log);
      assert.ok(m, `the page reports no phase ${p}`);
      return { from: m[1], loss: Number(m[2]), accuracy: Number(m[3]) };
    };
    const [head, fineTune] = [phase(1), phase(2)];
    assert.equal(head.from, 'global_average_pooling2d');
    assert.ok(head.accuracy >= 0.95, `feature extraction's validation accuracy ${head.accuracy} < 0.95`);
    assert.equal(fineTune.from, 'conv_dw_12');
    assert.ok(fineTune.loss < head.loss, `the fine-tune's validation loss ${fineTune.loss} is not below the head's ${head.loss}`);
    assert.ok(accuracy >= 0.95, `validation accuracy ${accuracy} < 0.95`);
  });

  it('a file that is not Keras weights is one line in the page naming it', async () => {
    await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#weights', notWeights());
      await page.setInputFiles('#folder', path.join(CIFAR_DIR, PAIR[0]));
      const log = await trainToError(page);
      assert.match(log, /^error: notes\.h5: not an HDF5 file, so not Keras weights \(\.h5\)$/m);
    });
  });

  it('a folder dropped on the page is walked into the run as the picked folder would be', async () => {
    await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#weights', notWeights());
      // Chromium gives a script no directory entries to drop: the pair's files, picked, stand in for one (a
      // directory entry per class folder, read in two parts as readEntries may give them).
      await page.setInputFiles('#folder', pairFolder());
      await page.evaluate(() => {
        const input = document.getElementById('folder') as HTMLInputElement;
        const files = [...(input.files ?? [])];
        input.value = '';
        const fileEntry = (f: File) => ({ isFile: true, isDirectory: false, fullPath: `/${f.webkitRelativePath}`, file: (ok: (f: File) => void) => ok(f) });
        const dirEntry = (name: string, entries: object[]) => {
          const parts = [entries.slice(0, 100), entries.slice(100), []];
          return {
            isFile: false,
            isDirectory: true,
            name,
            fullPath: `/${name}`,
            createReader: () => ({ readEntries: (ok: (e: object[]) => void) => ok(parts.shift() ?? []) }),
          };
        };
        const root = files[0].webkitRelativePath.split('/')[0];
        const classes = [...new Set(files.map((f) => f.webkitRelativePath.split('/')[1]))];
        const top = dirEntry(
          root,
          classes.map((c) => ({
            ...dirEntry(`${root}/${c}`, files.filter((f) => f.webkitRelativePath.split('/')[1] === c).map(fileEntry)),
            fullPath: `/${root}/${c}`,
          })),
        );
        const drop = Object.assign(new Event('drop', { cancelable: true }), { dataTransfer: { items: [{ webkitGetAsEntry: () => top }] } });
        document.body.dispatchEvent(drop);
      });
      await page.waitForFunction(() => /dropped/.test(document.getElementById('log')?.textContent ?? ''), undefined, { timeout: 30_000 });
      const log = await trainToError(page);
      assert.match(log, /^dropped \S+: 2000 files/m);
      // The run took the dropped files (the picker is empty): it reached the weights.
      assert.match(log, /^error: notes\.h5: not an HDF5 file/m);
    });
  });

  it('Stop ends training after the epoch running, keeping the weights trained so far', async () => {
    const folder = pairFolder();
    await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#weights', MOBILENET_H5);
      await page.setInputFiles('#folder', folder);
      // Epochs on cached features take a fraction of a second: Stop is pressed from inside the page, as soon as
      // the first epoch is logged.
      await page.evaluate(() => {
        const log = document.getElementById('log') as HTMLElement;
        new MutationObserver(() => /phase 1 epoch 1:/.test(log.textContent ?? '') && (document.getElementById('cancel') as HTMLButtonElement).click()).observe(
          log,
          {
            childList: true,
            characterData: true,
            subtree: true,
          },
        );
      });
      await page.click('#train');
      await page.waitForFunction(() => document.getElementById('val-accuracy')?.textContent !== '–', undefined, { timeout: 60_000 });
      const log = (await page.textContent('#log')) ?? '';
      assert.match(log, /stopped: interrupted in epoch \d+ \(kept the weights of epoch \d+\)/);
      assert.ok(Number(await page.textContent('#val-accuracy')) > 0.9, 'no accuracy for the weights kept');
    });
  });

  it("decodes and resizes as Node does: the same pixels at the image's own size and enlarged 3×", async () => {
    const dir = path.join(CIFAR_DIR, PAIR[0]);
    const files = readdirSync(dir).slice(0, 20);
    const inPage = await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#folder', dir);
      return (await page.evaluate(`(async () => {
        const files = [...document.getElementById('folder').files].sort((a, b) => (a.name < b.name ? -1 : 1)).slice(0, 20);
        const out = {};
        for (const size of [32, 96]) out[size] = await Promise.all(files.map(async (f) => Array.from(await globalThis.transferkit.decodeImage(f, size))));
        return out;
      })()`)) as Record<number, number[][]>;
    });
    const gap = { 32: { mean: 0, max: 0 }, 96: { mean: 0, max: 0 } };
    for (const size of [32, 96] as const)
      for (const [i, f] of files.entries()) {
        const node = await decodePhoto(path.join(dir, f), { height: size, width: size });
        const page = inPage[size][i];
        let sum = 0;
        for (let k = 0; k < node.length; k++) {
          const d = Math.abs(page[k] - node[k]);
          sum += d;
          gap[size].max = Math.max(gap[size].max, d);
        }
        gap[size].mean += sum / node.length / files.length;
      }
    process.stderr.write(
      `decode gap (0–255): at 32×32 mean ${gap[32].mean.toFixed(3)} max ${gap[32].max}; at 96×96 mean ${gap[96].mean.toFixed(3)} max ${gap[96].max}\n`,
    );
    // Chromium's JPEG decoder and Node's agree, and both enlarge with data/enlarge.ts: the same bytes.
    assert.ok(gap[32].max === 0 && gap[96].max === 0, "a decoded value differs from Node's");
  });

  it("shrinks photos as Node does: hymenoptera photos at 224×224 equal to Node's but where a colour profile is converted", async () => {
    const dir = path.join(SHARED, 'data', 'hymenoptera', 'val', 'ants');
    const files = readdirSync(dir).sort().slice(0, 20);
    const inPage = await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#folder', dir);
      return (await page.evaluate(`(async () => {
        const files = [...document.getElementById('folder').files].sort((a, b) => (a.name < b.name ? -1 : 1)).slice(0, 20);
        return Promise.all(files.map(async (f) => Array.from(await globalThis.transferkit.decodeImage(f, 224))));
      })()`)) as number[][];
    });
    let exact = 0;
    for (const [i, f] of files.entries()) {
      const node = await decodePhoto(path.join(dir, f), { height: 224, width: 224 });
      const max = node.reduce((m, v, k) => Math.max(m, Math.abs(v - inPage[i][k])), 0);
      // sharp converts an embedded ICC profile to sRGB; the page, as browsers decode for canvases here, does not.
      if ((await sharp(path.join(dir, f)).metadata()).icc === undefined) assert.equal(max, 0, `${f}: differs from Node's by ${max}`);
      if (max === 0) exact++;
    }
    process.stderr.write(`hymenoptera at 224×224 in the page: ${exact} of ${files.length} photos equal to Node's\n`);
    // Measured: 19 of 20 (the other carries a colour profile); with Pillow's resize in the page, 0 of 20.
    assert.ok(exact >= 18, `only ${exact} of ${files.length} photos equal to Node's`);
  });

  it("one training step in the page equals Node's on the same weights and batch (1e-5 relative)", async () => {
    await initBackend();
    const nodeBase = await mobilenet({ weights: MOBILENET_H5, includeTop: false, inputShape: [96, 96, 3], alpha: 0.25 });
    const inNode = await stepOnce({ addHead, applyStrategy, createTrainer, optimizerSpec, seededRandom }, nodeBase);
    const inPage = await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#weights', MOBILENET_H5);
      return (await page.evaluate(`(async () => {
        const lib = globalThis.transferkit;
        await lib.configureOnnxRuntime({ wasmPaths: new URL('./ort/', location.href).href });
        const base = await lib.buildBase(document.getElementById('weights').files[0], { size: 96, alpha: 0.25 });
        return (${stepOnce.toString()})(lib, base);
      })()`)) as StepOutcome;
    });
    assert.ok(maxRelative([inPage.loss], [inNode.loss]) <= 1e-5, `loss ${inPage.loss} vs ${inNode.loss}`);
    assert.ok(maxRelative(inPage.output, inNode.output) <= 1e-5, 'outputs differ');
    assert.equal(inPage.weights.length, inNode.weights.length);
    const worst = Math.max(...inNode.weights.map((w, i) => maxRelative(inPage.weights[i], w)));
    process.stderr.write(`step parity: loss ${inPage.loss} vs ${inNode.loss}; worst weight tensor ${worst.toExponential(2)} relative\n`);
    assert.ok(worst <= 1e-5, `trained weights differ by ${worst} relative`);
  });
});
