// How the CLI starts: what it loads, and how. The times themselves are measured by `npm run bench -- --only=startup`.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, cli, tempDir } from './helpers.js';

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );

describe('start-up', () => {
  test('tfjs is required through src/tfjs.ts, never imported as an ES module (Node would lex each bundle at start)', () => {
    const offenders = sources(path.join(ROOT, 'src')).filter((f) => {
      if (f.endsWith(`${path.sep}tfjs.ts`)) return false;
      const text = readFileSync(f, 'utf8');
      return /^(import|export) (?!type )[^;]*from '@tensorflow\/tfjs-(core|layers|backend-cpu)'|^import '@tensorflow/m.test(text);
    });
    assert.deepEqual(
      offenders.map((f) => path.relative(ROOT, f)),
      [],
    );
  });

  test('the tfjs modules a Node process gets are the ones the page imports (one instance each)', async () => {
    const { tf, tfl } = await import('../src/tfjs.js');
    const core = await import('@tensorflow/tfjs-core');
    const layers = await import('@tensorflow/tfjs-layers');
    assert.equal(tf.engine(), core.engine());
    assert.equal(tfl.layers.Layer, layers.layers.Layer);
  });

  test('--help loads neither tfjs nor ONNX Runtime; summary loads tfjs', () => {
    const probe = path.join(tempDir(), 'probe.cjs');
    writeFileSync(
      probe,
      "process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(Object.keys(require.cache).filter((k) => /@tensorflow|onnxruntime/.test(k)).length) + '\\n'));",
    );
    const loaded = (args: string[]) => {
      const r = cli(args, {}, ROOT, ['--require', probe]);
      assert.equal(r.code, 0, r.stderr);
      return Number(/LOADED (\d+)/.exec(r.stderr)?.[1]);
    };
    assert.equal(loaded(['--help']), 0);
    assert.ok(loaded(['summary', 'vgg16']) >= 2, 'the probe sees tfjs where it is loaded');
  });
});
