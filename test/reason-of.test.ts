// reasonOf: what a damaged file's error says. A wasm decoder's trap ("unreachable") must not reach the user, also
// when it comes from a worker thread (the features reader decodes Parquet in one), where Node re-creates the error
// with only its name and message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { reasonOf } from '../src/errors.js';

const DAMAGED = 'its structure is damaged';

test('a JavaScript internal or a wasm trap becomes "its structure is damaged"; other messages keep their first line', () => {
  assert.equal(reasonOf(new TypeError("Cannot read properties of null (reading 'x')")), DAMAGED);
  assert.equal(reasonOf(new WebAssembly.RuntimeError('unreachable')), DAMAGED);
  assert.equal(reasonOf(new Error('Parquet error: Invalid Parquet file. Corrupt footer\nmore')), 'Parquet error: Invalid Parquet file. Corrupt footer');
});

test("a wasm trap thrown uncaught in a worker thread arrives as the worker's error and is called damage", async () => {
  const worker = new Worker("throw new WebAssembly.RuntimeError('unreachable')", { eval: true });
  const err = await new Promise<Error>((resolve) => worker.once('error', resolve));
  assert.equal(err.message, 'unreachable');
  assert.equal(reasonOf(err), DAMAGED);
});
