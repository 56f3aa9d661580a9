// A torchvision ViT (2 layers, 64 px) exported by Debian's PyTorch at test time (test/python/export_onnx.py) and its
// fine-tune graph, the last block and a 3-class head: for tests that want a step made from a file our code did not
// write.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fineTuneGraph } from '../src/engine/graph-trainer.js';
import { fineTuneCut } from '../src/engine/onnx/cut.js';
import { loadOnnxBase } from '../src/engine/onnx-base.js';
import { ROOT, tempDir } from './helpers.js';
import { headModel } from './onnx-parity.js';

const PYTHON = '/usr/bin/python3';

/** Whether Debian's torch and torchvision import; where they do not, a NOTICE naming what is skipped. */
export function hasDebianTorch(skipped: string): boolean {
  const ok = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;
  if (!ok) process.stderr.write(`NOTICE: /usr/bin/python3 with torch and torchvision is absent: ${skipped} skipped\n`);
  return ok;
}

/** The ViT exported now (`base`) and its fine-tune graph (`ft`). */
export async function exportedVitFineTune() {
  const dir = tempDir();
  const r = spawnSync(PYTHON, [path.join(ROOT, 'test', 'python', 'export_onnx.py'), dir, 'vit_tiny:64:17'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const base = loadOnnxBase(path.join(dir, 'vit_tiny.onnx'));
  const ft = await fineTuneGraph(base.prefix, fineTuneCut(base.model.graph, { lastBlocks: 1 }).value, headModel(64, 3));
  return { base, ft };
}
