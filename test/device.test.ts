import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cudaUnavailable } from '../src/engine/ort-runtime.js';
import { cli, makeImageFolder, tempDir } from './helpers.js';

describe('--device', () => {
  test('cuda without a usable GPU says so in one line and runs on the CPU; cpu and auto say nothing', async () => {
    const why = cudaUnavailable();
    if (why === null) {
      process.stderr.write('NOTICE: a CUDA provider and a GPU are present here: the fallback line is not checked\n');
      return;
    }
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { perClass: 2 });
    const args = ['extract', data, '--base', 'mobilenet', '--alpha', '0.25', '--weights', 'none', '--input-size', '32', '--out', path.join(tempDir(), 'f.npy')];
    const cuda = cli([...args, '--device', 'cuda']);
    assert.equal(cuda.code, 0, cuda.stderr);
    const lines = cuda.stderr.split('\n').filter((l) => /cuda|CUDA/.test(l));
    assert.equal(lines.length, 1, cuda.stderr);
    assert.equal(lines[0], `transferkit: --device cuda: ${why}; running on the CPU`);
    for (const device of ['cpu', 'auto']) {
      const r = cli([...args, '--device', device]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /CUDA|cuda/);
    }
    const bad = cli([...args, '--device', 'gpu']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--device must be auto, cuda, cpu; got 'gpu'/);
  });
});
