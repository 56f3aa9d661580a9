// Fine-tuning an imported ONNX base (graph-trainer.ts): the step of suffix + head against finite differences of
// its own loss (always), and one SGD step of vit_tiny's last block + a new head against PyTorch autograd.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { initBackend } from '../src/engine/backend.js';
import { GraphTrainer, fineTuneGraph } from '../src/engine/graph-trainer.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { encodeModelValue } from '../src/engine/onnx/proto.js';
import { loadOnnxBase } from '../src/engine/onnx-base.js';
import { mergedOnnx } from '../src/train/model/onnx-base.js';
import { CIFAR_DIR, ROOT, cli, makeImageFolder, needsShared, tempDir } from './helpers.js';
import { assertStepMatches, convBase, readStep, headModel, run, trainPredictExport } from './onnx-parity.js';

describe('fine-tuning an ONNX base: one graph for suffix and head', () => {
  test('the step equals finite differences of its own loss; the trained base + head predicts what the trainer evaluates', async () => {
    await initBackend('cpu');
    const dir = tempDir();
    const file = path.join(dir, 'conv.onnx');
    const size = 8;
    await convBase(file, size);
    const base = loadOnnxBase(file, { inputSize: size });
    // Cut after conv1's activation: conv2 and the head train.
    const cut = base.model.graph.nodes.find((n) => n.opType === 'Relu')?.outputs[0] as string;
    const head = headModel(5, 2);
    const ft = await fineTuneGraph(base.prefix, cut, head);
    assert.equal(ft.suffixWeights.length, 2);
    assert.deepEqual(ft.cutShape, [4, 6, 6]);
    const n = 3;
    const pixels = Float32Array.from({ length: n * size * size * 3 }, (_, i) => (i * 37) % 255);
    const x = (await run(ft.prefix, { [base.prefix.graph.inputs[0].name]: new ort.Tensor('float32', pixels, [n, size, size, 3]) })).data as Float32Array;
    const y = Float32Array.of(1, 0, 0, 1, 1, 0);
    const trainer = await GraphTrainer.create(ft, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } });
    try {
      const before = trainer.snapshot();
      const lr = 0.1;
      await trainer.step(x, y, n, lr);
      const after = trainer.snapshot();
      const loss = async (values: Float32Array[]) => {
        trainer.restore(values);
        return (await trainer.evaluate(x, y, n)).loss;
      };
      // A few coordinates of every trained tensor: (w − w′)/lr against central differences.
      for (const [t, w] of before.entries()) {
        for (const k of [0, Math.floor(w.length / 2), w.length - 1]) {
          const h = 1e-2;
          const at = (d: number) => before.map((v, i) => (i === t ? Float32Array.from(v, (e, j) => (j === k ? e + d : e)) : v));
          const fd = ((await loss(at(h))) - (await loss(at(-h)))) / (2 * h);
          const step = (w[k] - after[t][k]) / lr;
          assert.ok(Math.abs(step - fd) <= 2e-3 * Math.max(1e-2, Math.abs(fd)) + 2e-4, `weight ${t}[${k}]: step ${step} vs fd ${fd}`);
        }
      }
      trainer.restore(after);
      trainer.writeBack();
      const inMemory = (await trainer.evaluate(x, y, n)).output;
      // The saved form: the trained base (prefix + trained suffix) merged with the written-back head.
      const merged = decodeModel(mergedOnnx(encodeModelValue(trainer.trainedBase()), head));
      const saved = (await run(merged, { [merged.graph.inputs[0].name]: new ort.Tensor('float32', pixels, [n, size, size, 3]) })).data as Float32Array;
      assert.ok(
        saved.every((v, i) => Math.abs(v - inMemory[i]) < 1e-5),
        `${Array.from(saved)} vs ${Array.from(inMemory)}`,
      );
      // The step changed the suffix: the trained base is not the original.
      const original = (await run(base.prefix, { [base.prefix.graph.inputs[0].name]: new ort.Tensor('float32', pixels, [n, size, size, 3]) }))
        .data as Float32Array;
      const trained = (await run(trainer.trainedBase(), { [base.prefix.graph.inputs[0].name]: new ort.Tensor('float32', pixels, [n, size, size, 3]) }))
        .data as Float32Array;
      assert.ok(trained.some((v, i) => Math.abs(v - original[i]) > 1e-6));
    } finally {
      await trainer.dispose();
    }
  });
});

/** /usr/bin/python3 with torch and torchvision, or null with a notice. */
function torchPython(): string | null {
  const python = '/usr/bin/python3';
  const r = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (r.status === 0) return python;
  process.stderr.write(
    'NOTICE: /usr/bin/python3 with torch and torchvision is absent (apt-get install python3-torch python3-torchvision): gradient parity with PyTorch skipped\n',
  );
  return null;
}

describe('gradient parity with PyTorch autograd', () => {
  const python = torchPython();
  test('vit_tiny: one SGD step of the last encoder block, the final LayerNorm and a new linear head', {
    skip: python ? false : 'torch is absent',
  }, async () => {
    await initBackend('cpu');
    const dir = tempDir();
    const r = spawnSync(python as string, [path.join(ROOT, 'test', 'python', 'grad_step.py'), dir], {
      encoding: 'utf8',
      timeout: 300_000,
      cwd: path.join(ROOT, 'test', 'python'),
    });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const ref = readStep(path.join(dir, 'step.json'));
    const worst = await assertStepMatches(ref, loadOnnxBase(path.join(dir, 'vit_tiny.onnx')));
    process.stderr.write(
      `gradient parity vit_tiny: worst weight ${worst.weight.toExponential(2)}, worst update ${worst.update.toExponential(2)} (relative to the tensor's largest)\n`,
    );
  });
});

/** A base with torch-style block scopes, made without PyTorch: features.0 (conv), features.1 (conv), pool, classifier. */
async function scopedBase(file: string, size: number): Promise<void> {
  await convBase(file, size);
  const model = decodeModel(readFileSync(file));
  const scope: Record<string, string> = { conv1: '/features/features.0/', conv2: '/features/features.1/', pool: '/pool/', classifier: '/classifier/' };
  for (const n of model.graph.nodes) {
    const layer = Object.keys(scope).find((k) => n.name.startsWith(k));
    n.name = `${layer ? scope[layer] : '/'}${n.opType}_${n.outputs[0]}`;
  }
  writeFileSync(file, encodeModelValue(model));
}

describe('fine-tuning an ONNX base from the CLI', () => {
  test('generated images: feature extraction and --unfreeze-last-blocks 1 save, predict, evaluate and export alike', async () => {
    await initBackend('cpu');
    const dir = tempDir();
    const file = path.join(dir, 'scoped.onnx');
    await scopedBase(file, 16);
    const data = await makeImageFolder(path.join(dir, 'data'), { classes: ['red', 'blue'], perClass: 8, size: 16 });
    const fe = await trainPredictExport(data, file, [], path.join(dir, 'fe'), 16);
    const ft = await trainPredictExport(data, file, ['--unfreeze-last-blocks', '1'], path.join(dir, 'ft'), 16);
    assert.equal(fe.phases, 1);
    assert.equal(ft.phases, 2);
    // The saved base changed: its suffix (features.1) trained.
    assert.notEqual(ft.sha, fe.sha);
    const byName = await trainPredictExport(data, file, ['--unfreeze-from', 'features.1', '--strategy', 'fine-tune'], path.join(dir, 'ft2'), 16);
    assert.equal(byName.phases, 2);
    const full = cli(['train', data, '--base', file, '--strategy', 'full']);
    assert.equal(full.code, 2);
    assert.match(full.stderr, /--strategy full does not apply to an ONNX base/);
  });

  const missing = needsShared(CIFAR_DIR);
  const python = torchPython();
  test('CIFAR-10 airplane/automobile on an exported 2-layer ViT: feature extraction and --unfreeze-last-blocks 1', {
    skip: missing || (python ? false : 'torch is absent'),
  }, async () => {
    const dir = tempDir();
    const r = spawnSync(python as string, [path.join(ROOT, 'test', 'python', 'export_onnx.py'), dir, 'vit_tiny:64:17'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const data = path.join(dir, 'cifar');
    for (const c of ['airplane', 'automobile']) {
      mkdirSync(path.join(data, c), { recursive: true });
      for (const f of readdirSync(path.join(CIFAR_DIR, c)).sort().slice(0, 20)) symlinkSync(path.join(CIFAR_DIR, c, f), path.join(data, c, f));
    }
    const vit = path.join(dir, 'vit_tiny.onnx');
    const fe = await trainPredictExport(data, vit, [], path.join(dir, 'fe'), 64);
    const ft = await trainPredictExport(data, vit, ['--unfreeze-last-blocks', '1'], path.join(dir, 'ft'), 64);
    assert.notEqual(ft.sha, fe.sha);
    assert.ok(
      ft.probs.some((p, i) => Math.abs(p - fe.probs[i]) > 1e-4),
      'fine-tuning changed the predictions',
    );
  });
});
