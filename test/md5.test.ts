// md5 in JavaScript (the browser checks Keras's published md5 with it) against Node's crypto.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { md5Hex } from '../src/util/md5.js';
import { seededRandom } from '../src/util/random.js';

describe('md5Hex', () => {
  it("equals Node's md5 at every padding boundary and on a large buffer", () => {
    const random = seededRandom(9);
    for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 3_000_001]) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
      assert.equal(md5Hex(bytes), createHash('md5').update(bytes).digest('hex'), `${n} bytes`);
    }
  });
});
