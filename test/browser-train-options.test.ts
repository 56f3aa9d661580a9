// Node's training options in the page: class weights (Keras's class_weight, 'balanced' on an unbalanced pair:
// the same notice as Node's data plan, and the loss weighted) and lrDecay (discriminative rates: only phases
// that train base layers change).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planData } from '../src/train/fit/data-plan.js';
import { noChromium, withPage } from './browser.js';
import { CIFAR_DIR, MOBILENET_H5, ROOT, needsShared, tempDir } from './helpers.js';
import { type StaticServer, serveStatic } from './static-server.js';

const WEB = path.join(ROOT, 'dist', 'web');
const skip = noChromium || needsShared(MOBILENET_H5) || needsShared(path.join(CIFAR_DIR, 'ship'));

interface Run {
  notices: string[];
  losses: number[][];
  rates: number[];
}

/** trainClassifier in the page with each of `runs`' options (on MobileNet α 0.25, 96×96): notices and per-phase losses. */
const trainInPage = (runs: object[]) => `(async () => {
  const lib = globalThis.transferkit;
  await lib.configureOnnxRuntime({ wasmPaths: new URL('./ort/', location.href).href });
  const out = [];
  for (const o of ${JSON.stringify(runs)}) {
    const base = await lib.buildBase(document.getElementById('weights').files[0], { size: 96, alpha: 0.25 });
    const notices = [];
    const r = await lib.trainClassifier(base, lib.imageFolderFromFiles(document.getElementById('folder').files), {
      ...o, epochs: 2, fineTuneEpochs: 2, onEvent: (e) => e.type === 'notice' && notices.push(e.message),
    });
    out.push({ notices, losses: [0, 1].map((p) => r.history.filter((h) => h.phase === p).map((h) => h.loss)), rates: r.history.map((h) => h.lr) });
  }
  return out;
})()`;

describe("Node's training options in the browser", { skip }, () => {
  let server: StaticServer;
  let folder: string;
  before(async () => {
    folder = path.join(tempDir('tk-web-options-'), 'pair');
    for (const [c, n] of [
      ['cat', 36],
      ['ship', 12],
    ] as const) {
      mkdirSync(path.join(folder, c), { recursive: true });
      for (const f of readdirSync(path.join(CIFAR_DIR, c)).slice(0, n)) copyFileSync(path.join(CIFAR_DIR, c, f), path.join(folder, c, f));
    }
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  it("classWeight 'balanced' weights the loss with Node's weights; lrDecay changes only the fine-tune phase", async () => {
    const notices: string[] = [];
    await planData(folder, { classWeight: 'balanced' }, (e) => e.type === 'notice' && notices.push(e.message));
    const fineTune = { strategy: 'fine-tune', unfreezeFrom: 'conv_dw_12' };
    const [plain, weighted, decayed, auto] = await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#weights', MOBILENET_H5);
      await page.setInputFiles('#folder', folder);
      return (await page.evaluate(
        trainInPage([fineTune, { ...fineTune, classWeight: 'balanced' }, { ...fineTune, lrDecay: 0.5 }, { learningRate: 'auto' }]),
      )) as Run[];
    });
    assert.equal(notices.length, 1);
    assert.ok(weighted.notices.includes(notices[0]), `${JSON.stringify(weighted.notices)} lacks Node's '${notices[0]}'`);
    assert.ok(!plain.notices.some((n) => n.startsWith('class weights')));
    assert.notDeepEqual(weighted.losses[0], plain.losses[0], 'the class weights left the loss unchanged');
    assert.deepEqual(decayed.losses[0], plain.losses[0], 'lrDecay changed the head phase');
    assert.notDeepEqual(decayed.losses[1], plain.losses[1], 'lrDecay left the fine-tune phase unchanged');
    // learningRate 'auto': Node's range test and notice; the phase's schedule (one-cycle over 2 epochs) peaks at the suggested rate.
    const said = auto.notices.map((n) => /^learning rate auto: the range test suggests (\S+) for phase 1 \(/.exec(n)).find(Boolean);
    assert.ok(said, JSON.stringify(auto.notices));
    assert.equal(auto.losses[0].length, 2);
    assert.ok(
      auto.rates.every((r) => r > 0 && r <= Number(said[1]) * 1.05),
      `rates ${auto.rates} against the suggested ${said[1]}`,
    );
    assert.notDeepEqual(auto.losses[0], plain.losses[0]);
    process.stderr.write(`learning rate auto: ${said[1]} suggested; the epochs ended at ${auto.rates.join(', ')}\n`);
  });
});
