import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import sharp, { type JpegOptions } from 'sharp';
import { decodeImage } from '../src/data/decode.js';
import { decodePlainJpeg, jpegHeader } from '../src/data/jpeg.js';
import { resizeLikePillow } from '../src/data/resize.js';
import { CIFAR_DIR, needsShared, tempDir } from './helpers.js';

/** What sharp alone decodes (the path every file took before the JPEG fast path). */
async function viaSharp(bytes: Uint8Array): Promise<Float32Array> {
  return Float32Array.from(await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer());
}

/** A seeded noisy RGB picture, so the JPEG has real detail in every block. */
function noise(w: number, h: number, seed: number): Buffer {
  let s = seed;
  return Buffer.from(Array.from({ length: w * h * 3 }, (_, i) => (((s = (s * 1103515245 + 12345) & 0x7fffffff) >> 16) % 256) ^ (i % 97)));
}

describe('JPEG decoding', () => {
  test('the wasm fast path decodes plain JPEGs byte for byte as sharp does (4:2:0, 4:4:4, progressive, odd sizes)', async () => {
    const cases: Array<[number, number, JpegOptions]> = [
      [32, 32, { quality: 75 }],
      [31, 17, { quality: 90, chromaSubsampling: '4:4:4' }],
      [48, 40, { quality: 60, progressive: true }],
    ];
    for (const [w, h, options] of cases) {
      const bytes = await sharp(noise(w, h, w * h), { raw: { width: w, height: h, channels: 3 } })
        .jpeg(options)
        .toBuffer();
      const fast = await decodePlainJpeg(bytes, h, w);
      assert.ok(fast, `${w}x${h} ${JSON.stringify(options)} takes the fast path`);
      assert.deepEqual(fast, await viaSharp(bytes));
    }
  });

  test('plain JPEGs smaller than the model on both sides are enlarged byte for byte as sharp enlarges them', async () => {
    // Sources and outputs of odd and even sizes, square or not, every ratio: libvips's arithmetic has several
    // rounding steps, and orders of it that differ only in the last bit of a coordinate fail some of these.
    const cases: Array<[number, number, JpegOptions, Array<[number, number]>]> = [
      [
        32,
        32,
        { quality: 75 },
        [
          [96, 96],
          [227, 192],
          [160, 600],
          [1024, 1024],
        ],
      ],
      [
        17,
        31,
        { quality: 90, chromaSubsampling: '4:4:4' },
        [
          [331, 224],
          [1024, 384],
          [33, 512],
        ],
      ],
      [
        48,
        40,
        { quality: 60, progressive: true },
        [
          [1024, 384],
          [97, 65],
        ],
      ],
      [
        63,
        47,
        { quality: 85 },
        [
          [150, 96],
          [384, 384],
        ],
      ],
    ];
    for (const [w, h, options, sizes] of cases) {
      const bytes = await sharp(noise(w, h, w + h), { raw: { width: w, height: h, channels: 3 } })
        .jpeg(options)
        .toBuffer();
      for (const [width, height] of sizes) {
        const fast = await decodePlainJpeg(bytes, height, width);
        assert.ok(fast, `${w}x${h} → ${width}x${height} takes the fast path`);
        const want = await sharp(bytes).resize(width, height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
        assert.deepEqual(fast, Float32Array.from(want), `${w}x${h} ${JSON.stringify(options)} → ${width}x${height}`);
      }
    }
  });

  test('files that need shrinking or another filter, carry EXIF or an ICC profile, or are damaged go to sharp', async () => {
    const plain = await sharp(noise(32, 32, 5), { raw: { width: 32, height: 32, channels: 3 } })
      .jpeg()
      .toBuffer();
    assert.equal(await decodePlainJpeg(plain, 16, 16), null, 'smaller');
    assert.equal(await decodePlainJpeg(plain, 32, 64), null, 'enlarged on one side only');
    assert.equal(await decodePlainJpeg(plain, 24, 64), null, 'wider, and lower');
    assert.equal(await decodePlainJpeg(plain, 96, 96, 'bicubic'), null, 'enlarged bicubically');
    const large = await sharp(noise(160, 120, 9), { raw: { width: 160, height: 120, channels: 3 } })
      .jpeg()
      .toBuffer();
    assert.equal(await decodePlainJpeg(large, 224, 224), null, 'past 128×128 px, enlarged: sharp decodes several at once');
    assert.ok(await decodePlainJpeg(large, 120, 160), 'at its own size it still takes the fast path');
    assert.ok(await decodePlainJpeg(plain, 96, 96, 'bilinear'));
    const exif = await sharp(plain).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    assert.equal(jpegHeader(exif)?.extras, true);
    assert.equal(await decodePlainJpeg(exif, 32, 32), null, 'EXIF orientation');
    const icc = await sharp(plain).withIccProfile('p3').jpeg().toBuffer();
    assert.equal(await decodePlainJpeg(icc, 32, 32), null, 'ICC profile');
    assert.equal(await decodePlainJpeg(plain.subarray(0, plain.length - 40), 32, 32), null, 'truncated');
    const corrupt = Buffer.from(plain);
    corrupt.fill(0xff, 200, 230);
    assert.equal(await decodePlainJpeg(corrupt, 32, 32), null, 'corrupt tables');
    assert.ok(await decodePlainJpeg(plain, 32, 32), 'the decoder still works after a failure');
    // decodeImage keeps sharp's answers for all of them: rotated, colour-managed, and refused when damaged.
    const dir = tempDir();
    writeFileSync(path.join(dir, 'rotated.jpg'), exif);
    const rotated = await decodeImage(path.join(dir, 'rotated.jpg'), { height: 32, width: 32 });
    assert.deepEqual(
      rotated,
      Float32Array.from(await sharp(exif).rotate().removeAlpha().toColourspace('srgb').resize(32, 32, { fit: 'fill' }).raw().toBuffer()),
    );
    writeFileSync(path.join(dir, 'cut.jpg'), plain.subarray(0, 100));
    await assert.rejects(decodeImage(path.join(dir, 'cut.jpg'), { height: 32, width: 32 }));
  });

  test('on the CIFAR-10 test JPEGs the fast path equals sharp on every pixel, as they are and at 96×96', { skip: needsShared(CIFAR_DIR) }, async () => {
    let checked = 0;
    for (const cls of readdirSync(CIFAR_DIR)) {
      for (const name of readdirSync(path.join(CIFAR_DIR, cls)).slice(0, 100)) {
        const file = path.join(CIFAR_DIR, cls, name);
        const bytes = readFileSync(file);
        assert.deepEqual(await decodePlainJpeg(bytes, 32, 32), await viaSharp(bytes), `${cls}/${name}`);
        // What every image took before the enlargement path: sharp's decode and bilinear resize.
        const sharp96 = await sharp(bytes, { failOn: 'error' }).rotate().removeAlpha().toColourspace('srgb').resize(96, 96, { fit: 'fill', kernel: 'linear' });
        assert.deepEqual(await decodeImage(file, { height: 96, width: 96 }), Float32Array.from(await sharp96.raw().toBuffer()), `${cls}/${name} at 96`);
        checked++;
      }
    }
    assert.equal(checked, 1000);
  });
});

describe("Pillow's resize, reproduced (Hugging Face's image processors resize with it)", () => {
  const pil = spawnSync('/usr/bin/python3', ['-c', 'import PIL'], { encoding: 'utf8' }).status === 0;
  if (!pil) process.stderr.write('NOTICE: /usr/bin/python3 with PIL is absent (apt-get install python3-pil): the Pillow resize check skipped\n');
  test('bilinear, bicubic and lanczos, enlarging and shrinking each axis: the bytes Pillow gives', { skip: pil ? false : 'PIL is absent' }, () => {
    const [h, w] = [23, 37];
    const src = Uint8Array.from({ length: h * w * 3 }, (_, i) => (i * 97 + ((i * i) % 31)) % 256);
    const sizes = [
      [50, 20],
      [11, 80],
      [23, 9],
    ];
    const py = `
import sys
from PIL import Image
h, w = ${h}, ${w}
img = Image.frombytes("RGB", (w, h), sys.stdin.buffer.read())
for f in (Image.BILINEAR, Image.BICUBIC, Image.LANCZOS):
    for oh, ow in ${JSON.stringify(sizes)}:
        sys.stdout.buffer.write(img.resize((ow, oh), f).tobytes())
`;
    const r = spawnSync('/usr/bin/python3', ['-c', py], { input: src });
    assert.equal(r.status, 0, String(r.stderr));
    let at = 0;
    for (const filter of ['bilinear', 'bicubic', 'lanczos3'] as const)
      for (const [oh, ow] of sizes) {
        const want = r.stdout.subarray(at, at + oh * ow * 3);
        at += oh * ow * 3;
        assert.deepEqual(Buffer.from(resizeLikePillow(src, h, w, 3, oh, ow, filter)), want, `${filter} ${h}×${w} → ${oh}×${ow}`);
      }
  });
});
