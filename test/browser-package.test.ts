// `transferkit/browser` as a user's bundler sees it: esbuild for the browser, honouring the package's "browser"
// field (the twins), with a Node built-in (or onnxruntime-node, sharp) imported by transferkit's own code as an error.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import { ROOT } from './helpers.js';

/** Node's built-ins, and ONNX Runtime's Node binding. */
const NODE_ONLY = new RegExp(`^(node:.*|onnxruntime-node|sharp|${builtinModules.join('|')})(/.*)?$`);
const OURS = path.join(ROOT, 'dist', 'src') + path.sep;

/** The Node-only modules transferkit's own modules import when `entry` is bundled (`neutral`: without the twins). */
async function nodeImports(entry: string, platform: 'browser' | 'neutral' = 'browser'): Promise<string[]> {
  const found: string[] = [];
  await build({
    entryPoints: [path.join(OURS, entry)],
    bundle: true,
    platform,
    mainFields: ['module', 'main'],
    format: 'esm',
    splitting: true,
    outdir: path.join(ROOT, 'dist', 'esbuild-check'),
    write: false,
    logLevel: 'silent',
    conditions: ['onnxruntime-web-use-extern-wasm'],
    plugins: [
      {
        name: 'node-builtins',
        setup(b) {
          b.onResolve({ filter: NODE_ONLY }, (a) => {
            if (a.importer.startsWith(OURS)) found.push(`${path.relative(OURS, a.importer)} → ${a.path}`);
            return { path: a.path, external: true };
          });
        },
      },
    ],
  });
  return found;
}

describe('transferkit/browser bundles for a browser', () => {
  it('runs the ONNX Runtime version Node runs (the same graphs, the same kernels)', () => {
    const version = (pkg: string) => (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(version('onnxruntime-web'), version('onnxruntime-node'));
  });

  it('pulls in no Node built-in (without the twins it would)', async () => {
    assert.deepEqual(await nodeImports('browser/index.js'), []);
    assert.ok((await nodeImports('browser/index.js', 'neutral')).length > 0, 'the check finds nothing even without the twins');
  });
});
