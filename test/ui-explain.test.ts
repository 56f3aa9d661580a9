// The page's "Try it" on the server (POST /api/explain): the answer and the Grad-CAM overlay of the class it
// decided, for photos, DICOM (the model's stored window) and GeoTIFF tiles, the same pixels the CLI's `explain`
// writes; and the endpoint under bad requests: paths outside the root, oversized or non-image bodies, a model
// without a spatial layer. Nothing is left behind in the temp area, nothing written under the root.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import { initBackend } from '../src/engine/backend.js';
import { saveModel } from '../src/train/saved/saved-model.js';
import { explainTempPrefix } from '../src/ui/explain.js';
import { startUi } from '../src/ui/server.js';
import { makeBlobDicomFolder } from './dicom-data.js';
import { TINY_BASE, cli, makeImageFolder, makeRasterFolder, tempDir } from './helpers.js';

interface Answer {
  label: string;
  classIndex: number;
  layer: string;
  predictions: Array<{ label: string; probability: number }>;
  overlay: string;
  width: number;
  height: number;
  error?: string;
}

/** The PNG inside a data URL, decoded: its format, size and RGB bytes. */
async function pngOf(url: string) {
  const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(url);
  assert.ok(m, `not a PNG data URL: ${url.slice(0, 40)}`);
  const png = Buffer.from(m[1], 'base64');
  const meta = await sharp(png).metadata();
  return { format: meta.format, width: meta.width, height: meta.height, rgb: await sharp(png).removeAlpha().raw().toBuffer() };
}

const pngBytes = async (file: string) => sharp(file).removeAlpha().raw().toBuffer();

describe('transferkit ui: Try it explains an image (POST /api/explain)', () => {
  let root: string;
  let ui: Awaited<ReturnType<typeof startUi>>;
  let files: Record<'photo' | 'dicom' | 'raster', string>;
  let beforeRoot: string[];
  const tempsOfMine = () => readdirSync(os.tmpdir()).filter((n) => n.startsWith(explainTempPrefix()));
  const post = (q: string, body: Uint8Array | string, type = 'application/octet-stream') =>
    fetch(new URL(`/api/explain?${q}`, ui.url), {
      method: 'POST',
      body: body as BodyInit,
      headers: { authorization: `token ${ui.token}`, 'content-type': type },
    });
  const train = (data: string, out: string, extra: string[]) => {
    const t = cli(['train', data, ...TINY_BASE, '--epochs', '1', '--out', path.join(root, 'models', out), ...extra]);
    assert.equal(t.code, 0, t.stderr);
  };

  before(async () => {
    root = tempDir();
    await makeImageFolder(path.join(root, 'photos'), { perClass: 4 });
    await makeBlobDicomFolder(path.join(root, 'ct'), 4, 32);
    await makeRasterFolder(path.join(root, 'tiles'), { perClass: 3 });
    train(path.join(root, 'photos'), 'photo', []);
    train(path.join(root, 'ct'), 'ct', ['--window', 'bone']);
    train(path.join(root, 'tiles'), 'tiles', ['--bands', '4,3,2']);
    // A model with no spatial layer: nothing for Grad-CAM to read.
    await initBackend();
    const flat = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [8, 8, 3] }), tfl.layers.dense({ units: 2, activation: 'softmax' })] });
    await saveModel(flat, path.join(root, 'models', 'flat'), {
      format: 'transferkit-model',
      version: 1,
      base: { id: 'mobilenet', weights: null },
      inputShape: [8, 8, 3],
      preprocessing: 'tf',
      classNames: ['a', 'b'],
      task: 'categorical',
    });
    // A regressor (its metadata says so): no class to explain.
    cpSync(path.join(root, 'models', 'photo'), path.join(root, 'models', 'regressor'), { recursive: true });
    const meta = JSON.parse(readFileSync(path.join(root, 'models', 'regressor', 'transferkit.json'), 'utf8'));
    writeFileSync(path.join(root, 'models', 'regressor', 'transferkit.json'), JSON.stringify({ ...meta, task: 'regression', classNames: undefined }));
    const blob = readdirSync(path.join(root, 'ct', 'blob')).sort();
    files = {
      photo: path.join(root, 'photos', 'beta', '000.png'),
      // Extensionless: read by its DICM preamble, as the CLI does.
      dicom: path.join(root, 'ct', 'blob', blob.find((n) => !n.includes('.')) as string),
      raster: path.join(root, 'tiles', 'River', 'River_1.tif'),
    };
    ui = await startUi({ root, port: 0, maxTryImage: 1e6 });
    beforeRoot = readdirSync(root, { recursive: true }).map(String).sort();
  });
  after(async () => {
    await ui.close();
    assert.deepEqual(readdirSync(root, { recursive: true }).map(String).sort(), beforeRoot, 'nothing written or deleted under the root');
    assert.deepEqual(tempsOfMine(), [], 'every temp folder of an explanation is removed');
  });

  for (const [kind, model, classes] of [
    ['photo', 'photo', ['alpha', 'beta']],
    ['dicom', 'ct', ['blob', 'plain']],
    ['raster', 'tiles', ['Forest', 'Residential', 'River']],
  ] as const) {
    test(`${kind}: the answer carries a PNG overlay at the model's input size, the same pixels as the CLI's explain`, async () => {
      const file = files[kind];
      const r = await post(`model=models/${model}&name=${encodeURIComponent(path.basename(file))}`, readFileSync(file));
      const a = (await r.json()) as Answer;
      assert.equal(r.status, 200, a.error);
      assert.ok(classes.includes(a.label as never), a.label);
      assert.equal(a.layer, 'conv_pw_13_relu');
      assert.equal(a.predictions[0].label, a.label, 'the overlay explains the class answered');
      assert.equal(a.predictions.length, classes.length);
      assert.ok(Math.abs(a.predictions.reduce((s, p) => s + p.probability, 0) - 1) < 1e-4);
      const png = await pngOf(a.overlay);
      assert.deepEqual([png.format, png.width, png.height, a.width, a.height], ['png', 32, 32, 32, 32]);
      // The CLI reads the file the same way (the DICOM window, the bands stored with the model).
      const out = tempDir();
      const x = cli(['explain', path.join(root, 'models', model), file, '--out', out, '--json']);
      assert.equal(x.code, 0, x.stderr);
      const cliExplained = JSON.parse(x.stdout).explained[0];
      assert.equal(cliExplained.label, a.label);
      assert.deepEqual(png.rgb, await pngBytes(cliExplained.png));
    });
  }

  test('a model path outside the root, not a model, or missing: refused before the body is read', async () => {
    const body = readFileSync(files.photo);
    for (const [q, status, message] of [
      ['model=../x&name=a.png', 403, /outside the UI's root/],
      [`model=${encodeURIComponent('/etc')}&name=a.png`, 400, /not an absolute one/],
      ['model=photos&name=a.png', 404, /not a saved model folder/],
      ['model=models/none&name=a.png', 404, /not a saved model folder/],
      ['name=a.png', 400, /model: a path under the UI's root is required/],
    ] as const) {
      const r = await post(q, body);
      assert.equal(r.status, status, q);
      assert.match(((await r.json()) as Answer).error ?? '', message, q);
    }
  });

  test('an oversized image is refused (413), by its declared length and as it streams', async () => {
    const r = await post('model=models/photo&name=big.png', new Uint8Array(1.5e6));
    assert.equal(r.status, 413);
    assert.match(((await r.json()) as Answer).error ?? '', /^image of 2 MB is larger than the limit of 1 MB/);
    // No declared length (chunked): counted as it comes, and cut off past the limit.
    const streamed = await new Promise<{ status: number; body: string }>((resolve) => {
      const req = http.request(new URL('/api/explain?model=models/photo&name=big.png', ui.url), {
        method: 'POST',
        headers: { authorization: `token ${ui.token}`, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      // The server closes the connection once it has answered: a write after that fails, as it should.
      req.on('error', () => undefined);
      let n = 0;
      const pump = () => {
        while (n < 20 && req.write(new Uint8Array(100_000))) n++;
        if (n < 20) req.once('drain', pump);
      };
      pump();
      setTimeout(() => req.destroyed || req.end(), 5000).unref();
    });
    assert.equal(streamed.status, 413);
    assert.match(streamed.body, /image larger than the limit of 1 MB/);
  });

  test('bytes that are no image, a foreign extension, an empty body or the wrong content type: 415 or 400 with a clear message', async () => {
    const garbage = await post('model=models/photo&name=notes.png', 'this is not a png');
    assert.equal(garbage.status, 415);
    const g = ((await garbage.json()) as Answer).error ?? '';
    assert.match(g, /^image: cannot decode/);
    assert.ok(!g.includes(os.tmpdir()), `a server path in the answer: ${g}`);
    const noExt = await post('model=models/ct&name=scan', 'neither DICOM nor anything else');
    assert.equal(noExt.status, 415);
    const exe = await post('model=models/photo&name=evil.exe', readFileSync(files.photo));
    assert.equal(exe.status, 415);
    assert.match(((await exe.json()) as Answer).error ?? '', /\.exe is not an image type/);
    const empty = await post('model=models/photo&name=a.png', '');
    assert.equal(empty.status, 400);
    assert.match(((await empty.json()) as Answer).error ?? '', /the body is empty/);
    const wrongType = await post('model=models/photo&name=a.png', readFileSync(files.photo), 'text/plain');
    assert.equal(wrongType.status, 415);
  });

  test('a model without a spatial layer, or a regressor: a 400 saying there is nothing to explain, and the server answers on', async () => {
    const px = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const r = await post('model=models/flat&name=a.png', px);
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as Answer).error ?? '', /no layer with a spatial \(height × width × channels\) output to explain/);
    const regressor = await post('model=models/regressor&name=a.png', readFileSync(files.photo));
    assert.equal(regressor.status, 400);
    assert.match(((await regressor.json()) as Answer).error ?? '', /a regression model has none/);
    const again = await post(`model=models/photo&name=a.png`, readFileSync(files.photo));
    assert.equal(again.status, 200);
  });
});
