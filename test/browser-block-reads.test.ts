// The page's feature file read in blocks (src/browser/block-reads.ts): the same rows as reading them one by one,
// in far fewer reads. A file in memory stands in for the Origin Private File System's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockReader, type ReadAt, gatherRows } from '../src/browser/block-reads.js';
import { shuffled, seededRandom } from '../src/util/random.js';

const ROW = 2304; // MobileNet α 0.25's features at 96×96: 3×3×256 floats
const ROWS = 2000;

/** A file of ROWS rows, each starting with its number and ending with it plus ½, and a counter of the reads made on it. */
function file(): { readAt: ReadAt; calls: () => number; rowOf: (bytes: Uint8Array, i: number) => number } {
  const data = Float32Array.from({ length: ROWS * ROW }, (_, i) => Math.floor(i / ROW) + (i % ROW === ROW - 1 ? 0.5 : 0));
  const bytes = new Uint8Array(data.buffer);
  let calls = 0;
  return {
    readAt: (into, at) => {
      calls++;
      assert.ok(at + into.length <= bytes.length, 'read past the end of the file');
      into.set(bytes.subarray(at, at + into.length));
    },
    calls: () => calls,
    // A row read whole and in place: its first and last floats.
    rowOf: (out, i) => {
      const f = new Float32Array(out.buffer, out.byteOffset + i * ROW * 4, ROW);
      assert.equal(f[ROW - 1] - f[0], 0.5, `row ${i} is not one row of the file`);
      return f[0];
    },
  };
}

describe('feature rows read from a file in blocks', () => {
  it("an epoch's shuffled batches: the rows asked for, in a few reads per window", () => {
    const f = file();
    const windowRows = 500;
    const reader = new BlockReader(f.readAt, ROW * 4, windowRows * ROW * 4);
    const order = shuffled(
      Array.from({ length: ROWS }, (_, i) => i),
      seededRandom(1),
    );
    reader.willRead(order);
    for (let s = 0; s < ROWS; s += 32) {
      const batch = order.slice(s, s + 32);
      const out = new Uint8Array(batch.length * ROW * 4);
      reader.read(batch, out);
      batch.forEach((row, i) => assert.equal(f.rowOf(out, i), row));
    }
    // 4 windows of 500 rows spread over the 18 MB file: each a pass of reads of up to 4 MB, broken where a gap
    // between its rows exceeds 14 rows (35 reads measured).
    process.stderr.write(`an epoch of ${ROWS} rows: ${f.calls()} reads (one by one: ${ROWS})\n`);
    assert.ok(f.calls() <= 50, `${f.calls()} reads for an epoch`);
  });

  it('reads off the order (validation in file order, single rows, a second epoch cut short) are right too', () => {
    const f = file();
    const reader = new BlockReader(f.readAt, ROW * 4, 300 * ROW * 4);
    const order = shuffled(
      Array.from({ length: ROWS }, (_, i) => i),
      seededRandom(2),
    );
    reader.willRead(order);
    const out = new Uint8Array(64 * ROW * 4);
    reader.read(order.slice(0, 64), out);
    order.slice(0, 64).forEach((row, i) => assert.equal(f.rowOf(out, i), row));
    // Off the plan: a sequential batch (one read), then a row asked for twice.
    const before = f.calls();
    const sequential = Array.from({ length: 64 }, (_, i) => 100 + i);
    reader.read(sequential, out);
    sequential.forEach((row, i) => assert.equal(f.rowOf(out, i), row));
    assert.equal(f.calls() - before, 1, 'contiguous rows in more than one read');
    reader.read([7, 7, ROWS - 1], out);
    assert.deepEqual(
      [0, 1, 2].map((i) => f.rowOf(out, i)),
      [7, 7, ROWS - 1],
    );
    // A new epoch after one left unfinished.
    reader.willRead(order.slice().reverse());
    reader.read(order.slice(-3).reverse(), out);
    assert.deepEqual(
      [0, 1, 2].map((i) => f.rowOf(out, i)),
      order.slice(-3).reverse(),
    );
  });

  it('rows far apart are read one by one, not with the file between them', () => {
    const f = file();
    const out = new Uint8Array(2 * ROW * 4);
    gatherRows(f.readAt, ROW * 4, [ROWS - 1, 0], out);
    assert.deepEqual([f.rowOf(out, 0), f.rowOf(out, 1)], [ROWS - 1, 0]);
    assert.equal(f.calls(), 2);
  });
});
