// The programs in examples/ run as a user runs them (`node dist/examples/X.js`, importing 'transferkit' through
// the package's own exports), on small data: two CIFAR-10 classes with MobileNet α=0.25's real weights, and a
// 2-layer ViT exported by PyTorch 1.13 as an ONNX backbone. Each result is read back by the predict example.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CIFAR_DIR, MOBILENET_H5, ROOT, needsShared, tempDir } from './helpers.js';

const CLASSES = ['airplane', 'automobile'];

/** Runs dist/examples/NAME.js; its stdout, stderr and exit code. */
function example(name: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'examples', `${name}.js`), ...args], { encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** N images of each of the two classes, linked from ../shared's CIFAR-10. */
function cifarSubset(dir: string, n: number): string {
  const data = path.join(dir, 'cifar');
  for (const c of CLASSES) {
    mkdirSync(path.join(data, c), { recursive: true });
    for (const f of readdirSync(path.join(CIFAR_DIR, c)).sort().slice(0, n)) symlinkSync(path.join(CIFAR_DIR, c, f), path.join(data, c, f));
  }
  return data;
}

/** The predict example over the first 3 images of each class: every line a file, a known class and a probability. */
function assertPredicts(model: string): void {
  const images = CLASSES.flatMap((c) =>
    readdirSync(path.join(CIFAR_DIR, c))
      .sort()
      .slice(100, 103)
      .map((f) => path.join(CIFAR_DIR, c, f)),
  );
  const r = example('predict', [model, ...images]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  assert.deepEqual(
    rows.map((row) => row[0]),
    images,
  );
  for (const [, label, p] of rows) {
    assert.ok(CLASSES.includes(label), label);
    assert.ok(Number(p) >= 0.5 && Number(p) <= 1, p);
  }
}

/** /usr/bin/python3 with torch and torchvision, or null with a notice. */
function torchPython(): string | null {
  const python = '/usr/bin/python3';
  if (spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0) return python;
  process.stderr.write('NOTICE: /usr/bin/python3 with torch and torchvision is absent: the ONNX backbone example is skipped\n');
  return null;
}

describe('examples/', () => {
  test('every example is built from examples/*.ts', () => {
    const sources = readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.ts'));
    assert.deepEqual(sources.sort(), ['fine-tune-onnx.ts', 'predict.ts', 'train-on-a-folder.ts']);
    for (const f of sources) assert.ok(existsSync(path.join(ROOT, 'dist', 'examples', f.replace(/\.ts$/, '.js'))), `${f} is not built (tsc -p examples)`);
    // Only the public API: the package's name, never a path into it.
    for (const f of sources) {
      const imports = [...readFileSync(path.join(ROOT, 'examples', f), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      assert.deepEqual([...new Set(imports)], ['transferkit'], f);
    }
  });

  const missing = needsShared(MOBILENET_H5) || needsShared(CIFAR_DIR);
  test('train-on-a-folder: MobileNet α=0.25 (real weights) on two CIFAR-10 classes at 96 px, then predict', { skip: missing }, () => {
    const dir = tempDir();
    const data = cifarSubset(dir, 30);
    const out = path.join(dir, 'zoo-model');
    const r = example('train-on-a-folder', [data, out, MOBILENET_H5]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^base mobilenet: 96x96 images, tf preprocessing$/m);
    const line = r.stdout.match(/trained feature-extraction on 48 images \(airplane, automobile\): validation accuracy ([\d.]+)%; saved to/);
    assert.ok(line, r.stdout);
    // 12 validation images: ImageNet features tell planes from cars far better than chance.
    assert.ok(Number(line[1]) >= 60, r.stdout);
    assert.ok(existsSync(path.join(out, 'transferkit.json')));
    assertPredicts(out);
  });

  const python = torchPython();
  test('fine-tune-onnx: a 2-layer ViT exported by PyTorch, its last block fine-tuned, then predict', {
    skip: missing || (python ? false : 'torch is absent'),
  }, () => {
    const dir = tempDir();
    const exported = spawnSync(python as string, [path.join(ROOT, 'test', 'python', 'export_onnx.py'), dir, 'vit_tiny:64:17'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(exported.status, 0, exported.stderr.slice(-2000));
    const data = cifarSubset(dir, 20);
    const out = path.join(dir, 'onnx-model');
    const r = example('fine-tune-onnx', [data, path.join(dir, 'vit_tiny.onnx'), out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^base vit_tiny: features from \S+, fine-tuned from block encoder\.layers\.encoder_layer_1, 64x64 images$/m);
    assert.match(r.stdout, /trained fine-tune \(phase 1 from \S+, phase 2 from \S+\) on 32 images: validation accuracy [\d.]+%; saved to/);
    assert.ok(existsSync(path.join(out, 'base.onnx')));
    assertPredicts(out);
  });
});
