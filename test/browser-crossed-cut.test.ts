// Fine-tuning in the browser from a cut that skip connections cross (MobileNetV2's block_15_depthwise: block_15_add
// also reads block_14_add): as in Node, the step starts at the base's first layer with the layers before the cut
// frozen. Seeded weights written as .h5 in Node and picked in the page, so both build the same base.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mobilenetV2 } from '../src/applications/index.js';
import { initBackend } from '../src/engine/backend.js';
import { optimizerSpec } from '../src/engine/optimizers.js';
import { addHead, applyStrategy, createTrainer } from '../src/index.js';
import { seededRandom } from '../src/util/random.js';
import { saveWeights } from '../src/weights/save.js';
import { noChromium, withPage } from './browser.js';
import { CIFAR_DIR, ROOT, needsShared, tempDir } from './helpers.js';
import { seedWeights } from './seed-weights.js';
import { type StaticServer, serveStatic } from './static-server.js';
import { type StepOutcome, stepOnce } from './web-step.js';
import { maxRelative } from './relative.js';

const WEB = path.join(ROOT, 'dist', 'web');
const CUT = 'block_15_depthwise';
const BUILT = { application: 'mobilenet_v2', size: 96, alpha: 0.35 };
const skip = noChromium || needsShared(path.join(CIFAR_DIR, 'cat'));

describe('the browser fine-tunes from a cut that skip connections cross, as Node does', { skip }, () => {
  let server: StaticServer;
  let weights: string;
  before(async () => {
    assert.ok(existsSync(path.join(WEB, 'index.html')), `${WEB} is missing: run npm run build:web`);
    await initBackend();
    const seeded = await mobilenetV2({ weights: null, includeTop: false, inputShape: [96, 96, 3], alpha: BUILT.alpha });
    seedWeights(seeded, { seed: 5, he: true });
    weights = path.join(tempDir('tk-web-crossed-'), 'mobilenet_v2_seeded.h5');
    await saveWeights(seeded, weights);
    server = await serveStatic(WEB);
  });
  after(() => server?.close());

  it("one step from the base's input, the layers before the cut frozen, equals Node's (1e-5 relative)", async () => {
    // Pixels in [0, 1), inside the [-1, 1] MobileNetV2's preprocessing gives. At 0–6 (outside it) the frozen
    // part's rounding (native kernels against WebAssembly's, 14 blocks deep) moved a zero-initialised BN beta's
    // gradient by 1.1e-4 relative; here every tensor is within 2e-6.
    const o = { from: 'Conv1', unfreezeFrom: CUT, scale: 1 };
    const nodeBase = await mobilenetV2({ weights, includeTop: false, inputShape: [96, 96, 3], alpha: BUILT.alpha });
    const inNode = await stepOnce({ addHead, applyStrategy, createTrainer, optimizerSpec, seededRandom }, nodeBase, o);
    const inPage = await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#weights', weights);
      return (await page.evaluate(`(async () => {
        const lib = globalThis.transferkit;
        await lib.configureOnnxRuntime({ wasmPaths: new URL('./ort/', location.href).href });
        const base = await lib.buildBase(document.getElementById('weights').files[0], ${JSON.stringify(BUILT)});
        return (${stepOnce.toString()})(lib, base, ${JSON.stringify(o)});
      })()`)) as StepOutcome;
    });
    assert.ok(Math.abs(inNode.loss - Math.LN2) > 1e-3, `loss ${inNode.loss}: the seeded base's features vanished`);
    // The cut's layers on: block_15 (depthwise, BN, project, BN), block_16 and the last convolution, and the head.
    assert.ok(inNode.weights.length > 10, `only ${inNode.weights.length} tensors trained`);
    assert.equal(inPage.weights.length, inNode.weights.length);
    assert.ok(maxRelative([inPage.loss], [inNode.loss]) <= 1e-5, `loss ${inPage.loss} vs ${inNode.loss}`);
    assert.ok(maxRelative(inPage.output, inNode.output) <= 1e-5, 'outputs differ');
    const worst = Math.max(...inNode.weights.map((w, i) => maxRelative(inPage.weights[i], w)));
    process.stderr.write(`crossed-cut step parity: loss ${inPage.loss} vs ${inNode.loss}; worst weight tensor ${worst.toExponential(2)} relative\n`);
    assert.ok(worst <= 1e-5, `trained weights differ by ${worst} relative`);
  });

  it('trainClassifier runs the fine-tune phase from that cut (it was refused before)', async () => {
    const dir = path.join(tempDir('tk-web-crossed-data-'), 'pair');
    for (const c of ['cat', 'ship']) {
      mkdirSync(path.join(dir, c), { recursive: true });
      for (const f of readdirSync(path.join(CIFAR_DIR, c)).slice(0, 24)) copyFileSync(path.join(CIFAR_DIR, c, f), path.join(dir, c, f));
    }
    const r = await withPage(async (page) => {
      await page.goto(server.url);
      await page.setInputFiles('#weights', weights);
      await page.setInputFiles('#folder', dir);
      return (await page.evaluate(`(async () => {
        const lib = globalThis.transferkit;
        await lib.configureOnnxRuntime({ wasmPaths: new URL('./ort/', location.href).href });
        const base = await lib.buildBase(document.getElementById('weights').files[0], ${JSON.stringify(BUILT)});
        const notices = [];
        const r = await lib.trainClassifier(base, lib.imageFolderFromFiles(document.getElementById('folder').files), {
          strategy: 'fine-tune', unfreezeFrom: ${JSON.stringify(CUT)}, epochs: 1, fineTuneEpochs: 1,
          onEvent: (e) => e.type === 'notice' && notices.push(e.message),
        });
        return { notices, phases: r.phases.map((p) => p.trainedFrom), losses: r.history.map((h) => h.loss), counts: r.counts };
      })()`)) as { notices: string[]; phases: string[]; losses: number[]; counts: { train: number; validation: number } };
    });
    assert.ok(
      r.notices.some((n) => n.startsWith(`skip connections cross the cut at ${CUT}`)),
      JSON.stringify(r.notices),
    );
    assert.deepEqual(r.phases, ['global_average_pooling2d', CUT]);
    assert.equal(r.losses.length, 2);
    assert.ok(r.losses.every(Number.isFinite), `losses ${r.losses}`);
    assert.equal(r.counts.train + r.counts.validation, 48);
  });
});
