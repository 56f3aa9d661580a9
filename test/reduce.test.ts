// The page's reduction of photos (data/reduce.ts) against sharp's linear resize of the same pixels: the
// hymenoptera photos at their own size (decoded by sharp, as Chromium decodes them) and noise of odd sizes, so a
// change in either (or a sharp upgrade that changes libvips's arithmetic) fails here.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { reduceRgbLikeVips } from '../src/data/reduce.js';
import { seededRandom } from '../src/util/random.js';
import { SHARED, needsShared } from './helpers.js';

const HYMENOPTERA = path.join(SHARED, 'data', 'hymenoptera', 'val');

/** The largest difference of our reduction from sharp's and how many values differ, RGBA w × h to width × height. */
async function gap(rgba: Uint8Array, w: number, h: number, width: number, height: number): Promise<{ max: number; differ: number }> {
  const rgb = await sharp(rgba, { raw: { width: w, height: h, channels: 4 } })
    .removeAlpha()
    .raw()
    .toBuffer();
  const want = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  const got = reduceRgbLikeVips(rgb, w, h, height, width);
  assert.equal(got.length, want.length);
  let max = 0;
  let differ = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (d) differ++;
    max = Math.max(max, d);
  }
  return { max, differ };
}

describe("libvips's linear reduction reproduced (data/reduce.ts)", () => {
  it('equals sharp on noise from 97 to 700 px reduced to 1 to 224 px, either axis alone or both', async () => {
    const rand = seededRandom(7);
    for (const [w, h, width, height] of [
      [700, 500, 224, 224],
      [500, 333, 224, 224],
      [301, 207, 96, 96],
      [640, 480, 150, 97],
      [97, 640, 97, 61],
      [333, 101, 1, 3],
      [640, 99, 200, 99],
    ]) {
      const rgba = Uint8Array.from({ length: w * h * 4 }, () => Math.floor(rand() * 256));
      const { max } = await gap(rgba, w, h, width, height);
      assert.equal(max, 0, `${w}×${h} → ${width}×${height}: differs from sharp by ${max}`);
    }
  });

  it("equals sharp on the hymenoptera validation photos' own pixels at 224×224, within 2 at 96×96", { skip: needsShared(HYMENOPTERA) }, async () => {
    const files = readdirSync(HYMENOPTERA).flatMap((c) => readdirSync(path.join(HYMENOPTERA, c)).map((f) => path.join(HYMENOPTERA, c, f)));
    const off = { 96: 0, 224: 0 };
    let worst96 = 0;
    for (const file of files) {
      const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      for (const size of [224, 96] as const) {
        if (info.width < size || info.height < size) continue;
        const { max } = await gap(data, info.width, info.height, size, size);
        if (max) off[size]++;
        if (size === 224) assert.equal(max, 0, `${path.basename(file)} at 224: differs from sharp by ${max}`);
        else worst96 = Math.max(worst96, max);
      }
    }
    process.stderr.write(`reduce vs sharp on ${files.length} photos: not exact at 224: ${off[224]}, at 96: ${off[96]} (worst ${worst96})\n`);
    // Measured on all 398 photos: 14 differ at 96 (by 1, one by 2), in the last rows of odd heights shrunk 2× first.
    assert.ok(worst96 <= 2 && off[96] <= files.length / 10, `at 96: ${off[96]} photos differ, by up to ${worst96}`);
  });
});
