import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createDeflateRaw } from 'node:zlib';
import { decodeImage } from '../src/data/decode.js';
import { applyWindow, chooseWindow, dicomToDisplay, parseWindow, readDicom } from '../src/data/dicom.js';
import { listImageFiles } from '../src/data/folders.js';
import { loadImageBatch, photoSource } from '../src/data/batches.js';
import { DICOM_FIXTURES, makeBlobDicomFolder } from './dicom-data.js';
import * as tf from '@tensorflow/tfjs-core';
import { buildBandBase } from '../src/applications/bands.js';
import { getApplication } from '../src/applications/index.js';
import { initBackend } from '../src/engine/backend.js';
import { MOBILENET_H5, cli, needsShared, readNpy, tempDir, TINY_BASE } from './helpers.js';

const GOOD = path.join(DICOM_FIXTURES, 'good');
const BAD = path.join(DICOM_FIXTURES, 'bad');
const good = (name: string) => path.join(GOOD, name);

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const meanDiff = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

describe('DICOM corpus (test/fixtures/dicom, made by make-fixtures.mjs with dcmtk and gdcm)', () => {
  test('at least 12 variants and 6 bad files are committed', () => {
    assert.ok(readdirSync(GOOD).length >= 12, `${readdirSync(GOOD).length} variants`);
    assert.ok(readdirSync(BAD).length >= 6);
  });

  test('every grayscale transfer syntax decodes to the same Hounsfield values, lossless ones exactly', async () => {
    const ref = await readDicom(good('ct16-explicit-le.dcm'));
    assert.equal(ref.values[0], -1024, 'stored 0 with RescaleIntercept -1024');
    for (const name of [
      'IM0001',
      'ct16-implicit-le.dcm',
      'ct16-explicit-be.dcm',
      'ct16-rle.dcm',
      'ct16-jpeg-lossless-p14.dcm',
      'ct16-jpeg-lossless-sv1.dcm',
      'ct16-jpegls-lossless.dcm',
      'ct16-j2k-lossless.dcm',
      'ct16-signed.dcm',
      'ct16-signed-rle.dcm',
    ]) {
      const img = await readDicom(good(name));
      assert.deepEqual([img.rows, img.columns, img.channels], [40, 48, 1], name);
      assert.equal(maxDiff(img.values, ref.values), 0, name);
    }
  });

  test('colour: interleaved, planar, RLE and JPEG-LS RGB exactly; YBR_FULL within rounding; JPEG baseline YBR_FULL_422 close', async () => {
    const ref = await readDicom(good('rgb-interleaved.dcm'));
    assert.equal(ref.channels, 3);
    for (const name of ['rgb-planar.dcm', 'rgb-rle.dcm', 'rgb-jpegls.dcm']) assert.equal(maxDiff((await readDicom(good(name))).values, ref.values), 0, name);
    assert.ok(maxDiff((await readDicom(good('ybr-full.dcm'))).values, ref.values) < 2, 'YBR_FULL → RGB');
    const lossy = await readDicom(good('ybr422-jpeg-baseline.dcm'));
    assert.equal(lossy.photometric, 'YBR_FULL_422');
    assert.ok(meanDiff(lossy.values, ref.values) < 8, `JPEG baseline mean error ${meanDiff(lossy.values, ref.values)}`);
  });

  test('8-bit grayscale, raw and JPEG baseline', async () => {
    const ref = await readDicom(good('mono8.dcm'));
    assert.equal(ref.bitsStored, 8);
    assert.ok(meanDiff((await readDicom(good('mono8-jpeg-baseline.dcm'))).values, ref.values) < 2);
  });

  test('multi-frame: frames differ, the first by default, a frame past the end is an error', async () => {
    const f0 = await readDicom(good('multiframe.dcm'));
    const f2 = await readDicom(good('multiframe.dcm'), 2);
    assert.equal(f0.frames, 3);
    assert.equal(maxDiff(f0.values, (await readDicom(good('mono1-16.dcm'))).values), 0, 'frame 1 holds the base picture');
    assert.ok(maxDiff(f0.values, f2.values) > 1000);
    await assert.rejects(readDicom(good('multiframe.dcm'), 3), /frame 4 asked for, the file has 3/);
  });

  test('every bad file is refused with its reason', async () => {
    const reasons: Record<string, RegExp> = {
      'truncated.dcm': /not a readable DICOM file|truncated/,
      'no-pixel-data.dcm': /no pixel data/,
      'unsupported-syntax.dcm': /transfer syntax 1\.2\.840\.10008\.1\.2\.4\.100 is not supported/,
      DICOMDIR: /a DICOMDIR/,
      'report-sr.dcm': /structured report/,
      'not-dicom.dcm': /no DICM preamble/,
      'empty.dcm': /not a readable DICOM file/,
    };
    for (const [name, reason] of Object.entries(reasons)) await assert.rejects(readDicom(path.join(BAD, name)), reason, name);
  });

  test('bad files in a batch are counted skips, never a crash; DICOMDIR is found by its preamble', async () => {
    const files = await listImageFiles([BAD, good('ct16-rle.dcm')]);
    assert.equal(files.length, 8);
    const b = await loadImageBatch(
      files.map((file) => ({ file })),
      { height: 16, width: 16, source: photoSource('tf') },
    );
    assert.equal(b.items.length, 1);
    assert.equal(b.skipped.length, 7);
    assert.ok(b.skipped.every((s) => s.reason.startsWith('cannot decode: ')));
  });
});

/** A Part 10 file: preamble, a meta header holding only the transfer syntax, then `body`. */
function part10(syntax: string, body: Uint8Array): Buffer {
  const uid = Buffer.from(syntax.length % 2 ? `${syntax}\0` : syntax, 'latin1');
  const element = Buffer.alloc(8);
  element.writeUInt16LE(0x0002, 0);
  element.writeUInt16LE(0x0010, 2);
  element.write('UI', 4, 'latin1');
  element.writeUInt16LE(uid.length, 6);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), element, uid, body]);
}

describe('hostile DICOM', () => {
  test('a deflated data set that inflates past 256 MiB is refused before it is held; a corrupt one in one line', async () => {
    const dir = tempDir();
    const deflater = createDeflateRaw({ level: 9 });
    const chunks: Buffer[] = [];
    deflater.on('data', (c: Buffer) => chunks.push(c));
    const zeros = Buffer.alloc(16 * 2 ** 20);
    for (let i = 0; i < 20; i++) if (!deflater.write(zeros)) await once(deflater, 'drain');
    deflater.end();
    await once(deflater, 'end');
    const bomb = path.join(dir, 'bomb.dcm');
    writeFileSync(bomb, part10('1.2.840.10008.1.2.1.99', Buffer.concat(chunks)));
    assert.ok(statSync(bomb).size < 2 ** 20, 'a small file');
    await assert.rejects(readDicom(bomb), /^Error: not a readable DICOM file \(the deflated data set inflates to more than 256 MiB\)$/);
    const corrupt = path.join(dir, 'corrupt.dcm');
    writeFileSync(corrupt, part10('1.2.840.10008.1.2.1.99', Buffer.from('not a deflate stream at all')));
    await assert.rejects(readDicom(corrupt), /^Error: not a readable DICOM file \(the deflated data set is corrupt\)$/);
  });

  test('absurd Rows × Columns in a compressed file is refused before anything is allocated', async () => {
    const dir = tempDir();
    const el = (group: number, elem: number, vr: string, value: Buffer) => {
      const h = Buffer.alloc(8);
      h.writeUInt16LE(group, 0);
      h.writeUInt16LE(elem, 2);
      h.write(vr, 4, 'latin1');
      h.writeUInt16LE(value.length, 6);
      return Buffer.concat([h, value]);
    };
    const us = (v: number) => Buffer.from(Uint16Array.of(v).buffer);
    const pixels = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    const item = (data: number[]) => Buffer.concat([Buffer.from([0xfe, 0xff, 0x00, 0xe0]), Buffer.from(Uint32Array.of(data.length).buffer), Buffer.from(data)]);
    const body = Buffer.concat([
      el(0x28, 0x02, 'US', us(1)),
      el(0x28, 0x10, 'US', us(65535)),
      el(0x28, 0x11, 'US', us(65535)),
      el(0x28, 0x100, 'US', us(16)),
      pixels,
      item([]),
      item([1, 2, 3, 4]),
      Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
    ]);
    const file = path.join(dir, 'huge.dcm');
    writeFileSync(file, part10('1.2.840.10008.1.2.5', body));
    await assert.rejects(readDicom(file), /a 65535×65535×1 frame is larger than transferkit reads/);
  });
});

describe('windowing (PS3.3 C.11.2.1.2.1)', () => {
  test('hand-computed values of the linear VOI LUT, C=40 W=400', () => {
    // Bounds: x <= 40 - 0.5 - 199.5 = -160 → 0; x > 40 - 0.5 + 199.5 = 239 → 255.
    const y = applyWindow(Float32Array.from([-1024, -160, -159, 40, 239, 240]), { center: 40, width: 400 });
    const f = (x: number) => ((x - 39.5) / 399 + 0.5) * 255;
    assert.deepEqual(Array.from(y.slice(0, 2)), [0, 0]);
    assert.ok(Math.abs(y[2] - f(-159)) < 1e-4 && Math.abs(y[2] - 0.6391) < 1e-3); // (-198.5 / 399 + 0.5) × 255
    assert.ok(Math.abs(y[3] - 127.8195) < 1e-3);
    assert.ok(Math.abs(y[4] - f(239)) < 1e-3 && Math.abs(y[4] - 255) < 1e-3); // the formula reaches 255 at the upper bound
    assert.equal(y[5], 255);
  });

  test('presets, C,W and bad specs', () => {
    assert.deepEqual(parseWindow('lung'), { center: -600, width: 1500 });
    assert.deepEqual(parseWindow('40,400'), { center: 40, width: 400 });
    assert.throws(() => parseWindow('40'), /--window must be/);
    assert.throws(() => parseWindow('40,0'), /--window must be/);
  });

  test('auto takes the file window, else the 1st–99th percentile; dicom needs one in the file', async () => {
    const ct = await readDicom(good('ct16-explicit-le.dcm'));
    assert.deepEqual(chooseWindow(ct, 'auto', 'x'), { center: 40, width: 400 });
    const mono1 = await readDicom(good('mono1-16.dcm'));
    assert.throws(() => chooseWindow(mono1, 'dicom', 'f.dcm'), /no WindowCenter/);
    const w = chooseWindow(mono1, 'auto', 'f.dcm');
    const sorted = Float32Array.from(mono1.values).sort();
    assert.equal(w.center - (w.width - 1) / 2 - 0.5, sorted[Math.round(0.01 * (sorted.length - 1))]);
  });

  test('MONOCHROME1 is inverted after the window', async () => {
    const mono1 = await readDicom(good('mono1-16.dcm'));
    assert.equal(mono1.inverted, true);
    const shown = dicomToDisplay(mono1, { center: 2048, width: 4096 }, 'f');
    const plain = applyWindow(mono1.values, { center: 2048, width: 4096 });
    assert.ok(shown.every((v, i) => Math.abs(v - (255 - plain[i])) < 1e-4));
    assert.ok(shown[0] > 250, 'stored 0 shows white');
  });

  test('signed 16-bit with intercept 0 and unsigned with intercept -1024 show the same picture through decodeImage', async () => {
    const a = await decodeImage(good('ct16-signed.dcm'), { height: 20, width: 24, dicom: { window: 'lung' } });
    const b = await decodeImage(good('ct16-explicit-le.dcm'), { height: 20, width: 24, dicom: { window: 'lung' } });
    assert.equal(a.length, 20 * 24 * 3);
    assert.equal(maxDiff(a, b), 0);
    assert.ok(a[0] === a[1] && a[1] === a[2], 'gray repeated into RGB');
  });
});

describe('CLI on DICOM', () => {
  test('show writes the model-eye PNG and the raw values after the Modality LUT; bad files are counted', () => {
    const out = tempDir();
    const r = cli([
      'show',
      good('ct16-jpeg-lossless-sv1.dcm'),
      good('rgb-planar.dcm'),
      path.join(BAD, 'report-sr.dcm'),
      '--window',
      'lung',
      '--input-size',
      '32',
      '--raw',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.written.length, 2);
    assert.deepEqual(
      j.skipped.map((s: { reason: string }) => /structured report/.test(s.reason)),
      [true],
    );
    const raw = readNpy(path.join(out, 'ct16-jpeg-lossless-sv1.npy'));
    assert.deepEqual(raw.shape, [40, 48]);
    assert.equal(raw.data[0], -1024);
    assert.deepEqual(readNpy(path.join(out, 'rgb-planar.npy')).shape, [40, 48, 3]);
  });

  test('train, predict, evaluate and explain on a DICOM class folder (random weights: a smoke run); the window is stored', async () => {
    const data = await makeBlobDicomFolder(path.join(tempDir(), 'ct'), 6, 32);
    const out = path.join(tempDir(), 'model');
    const t = cli(['train', data, ...TINY_BASE, '--epochs', '1', '--window', 'bone', '--out', out, '--json']);
    assert.equal(t.code, 0, t.stderr);
    assert.equal(JSON.parse(t.stdout).images.train + JSON.parse(t.stdout).images.validation, 12);
    const meta = JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8'));
    assert.deepEqual(meta.dicom, { window: 'bone' });
    const p = cli(['predict', out, path.join(data, 'blob'), '--json']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).length, 6, 'extensionless files found by their preamble');
    const e = cli(['evaluate', out, data, '--json']);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(
      JSON.parse(e.stdout)
        .confusionMatrix.flat()
        .reduce((s: number, v: number) => s + v, 0),
      12,
    );
    const cams = tempDir();
    const x = cli(['explain', out, path.join(data, 'blob'), path.join(BAD, 'truncated.dcm'), '--class', 'blob', '--out', cams, '--json']);
    assert.equal(x.code, 0, x.stderr);
    const j = JSON.parse(x.stdout);
    assert.equal(j.explained.length, 6);
    assert.equal(j.skipped.length, 1);
    assert.equal(j.explained[0].layer, 'conv_pw_13_relu');
    assert.deepEqual(readNpy(j.explained[0].npy).shape.length, 2);
  });

  test('--gray-to-rgb sum: a one-channel model, saved and used as such', async () => {
    const data = await makeBlobDicomFolder(path.join(tempDir(), 'ct'), 4, 32);
    const out = path.join(tempDir(), 'model');
    const t = cli(['train', data, ...TINY_BASE, '--epochs', '1', '--gray-to-rgb', 'sum', '--out', out]);
    assert.equal(t.code, 0, t.stderr);
    const meta = JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8'));
    assert.deepEqual([meta.inputShape, meta.training.grayToRgb], [[32, 32, 1], 'sum']);
    const p = cli(['predict', out, path.join(data, 'plain'), '--json']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).length, 4);
    assert.equal(cli(['train', data, '--base', 'mobilenet', '--gray-to-rgb', 'mean']).code, 2);
  });
});

test('the summed first convolution on one channel equals the RGB base on the channel repeated (ImageNet MobileNet)', {
  skip: needsShared(MOBILENET_H5),
}, async () => {
  await initBackend();
  const args = { weights: MOBILENET_H5, includeTop: false, inputShape: [64, 64, 3] as [number, number, number], alpha: 0.25 };
  const rgb = await getApplication('mobilenet').build(args);
  const { base: gray } = await buildBandBase('mobilenet', args, [-1], 'repeat-mean');
  const x = tf.randomUniform([1, 64, 64, 1], -1, 1, 'float32', 9);
  const a = (rgb.predict(tf.tile(x, [1, 1, 1, 3])) as tf.Tensor).dataSync();
  const b = (gray.predict(x) as tf.Tensor).dataSync();
  assert.equal(a.length, b.length);
  assert.ok(maxDiff(a as Float32Array, b as Float32Array) < 1e-4, `max difference ${maxDiff(a as Float32Array, b as Float32Array)}`);
});
