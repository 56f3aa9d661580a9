// Fine-tuning an imported ONNX base (graph-trainer.ts): the step of suffix + head against finite differences of
// its own loss (always), and one SGD step of vit_tiny's last block + a new head against PyTorch autograd.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import ort from 'onnxruntime-node';
import { initBackend } from '../src/engine/backend.js';
import { GraphTrainer, fineTuneGraph } from '../src/engine/graph-trainer.js';
import { compileInference } from '../src/engine/onnx/compile.js';
import { fineTuneCut } from '../src/engine/onnx/cut.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { type ModelValue, encodeModelValue } from '../src/engine/onnx/proto.js';
import { loadOnnxBase } from '../src/engine/onnx-base.js';
import { mergedOnnx, standInBase } from '../src/train/onnx-base.js';
import { loadImageBatch, photoSource } from '../src/data/batches.js';
import { CIFAR_DIR, ROOT, cli, makeImageFolder, needsShared, tempDir } from './helpers.js';

/** The classifier behind the ONNX base: the stand-in layer, then a dense softmax (weights given or seeded). */
function headModel(dim: number, classes: number, w?: { kernel: Float32Array; bias: Float32Array }): tfl.LayersModel {
  const input = tfl.input({ shape: [dim] });
  const f = standInBase(dim).apply(input) as tfl.SymbolicTensor;
  const dense = tfl.layers.dense({ units: classes, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) });
  const model = tfl.model({ inputs: input, outputs: dense.apply(f) as tfl.SymbolicTensor });
  if (w) dense.setWeights([tf.tensor(w.kernel, [dim, classes]), tf.tensor(w.bias, [classes])]);
  return model;
}

async function run(model: ModelValue, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(encodeModelValue(model));
  try {
    return (await session.run(feeds))[model.graph.outputs[0].name];
  } finally {
    await session.release();
  }
}

/** A two-conv base made without PyTorch: conv1 (frozen) → conv2 (trained) → pool → classifier. */
async function convBase(file: string, size: number): Promise<void> {
  const input = tfl.input({ shape: [size, size, 3] });
  let x = tfl.layers
    .conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'conv1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) })
    .apply(input);
  x = tfl.layers
    .conv2d({
      filters: 5,
      kernelSize: 3,
      activation: 'tanh',
      name: 'conv2',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }),
      biasInitializer: 'ones',
    })
    .apply(x);
  x = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x);
  const y = tfl.layers.dense({ units: 3, name: 'classifier' }).apply(x) as tfl.SymbolicTensor;
  writeFileSync(file, encodeModelValue(decodeModel(compileInference(tfl.model({ inputs: input, outputs: y })).onnx)));
}

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
    type Param = { name: string; shape: number[]; initial: number[]; updated: number[] };
    const ref = JSON.parse(readFileSync(path.join(dir, 'step.json'), 'utf8')) as {
      lr: number;
      loss: number;
      pixels: number[];
      shape: number[];
      targets: number[];
      params: Param[];
    };
    const base = loadOnnxBase(path.join(dir, 'vit_tiny.onnx'));
    const cut = fineTuneCut(base.model.graph, { lastBlocks: 1 });
    const [n, size] = ref.shape;
    const byName = new Map(ref.params.map((p) => [p.name, p]));
    const hw = byName.get('head.weight') as Param;
    const [classes, dim] = hw.shape;
    // transferkit's Dense kernel is (in, out): PyTorch's weight transposed.
    const kernel = new Float32Array(dim * classes);
    for (let o = 0; o < classes; o++) for (let i = 0; i < dim; i++) kernel[i * classes + o] = hw.initial[o * dim + i];
    const head = headModel(dim, classes, { kernel, bias: Float32Array.from((byName.get('head.bias') as Param).initial) });
    const ft = await fineTuneGraph(base.prefix, cut.value, head);
    const pixels = Float32Array.from(ref.pixels);
    const x = (await run(ft.prefix, { [base.prefix.graph.inputs[0].name]: new ort.Tensor('float32', pixels, [n, size, size, 3]) })).data as Float32Array;
    const trainer = await GraphTrainer.create(ft, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } });
    let worst = { weight: 0, update: 0 };
    try {
      const { loss } = await trainer.step(x, Float32Array.from(ref.targets), n, ref.lr);
      assert.ok(Math.abs(loss - ref.loss) < 1e-5 * Math.max(1, ref.loss), `loss ${loss} vs PyTorch ${ref.loss}`);
      const values = trainer.weights();
      const initials = new Map(ft.forward.graph.initializers.map((t) => [t.name, new Float32Array(new Uint8Array(t.raw).buffer)]));
      // Each trained initializer is matched to its PyTorch parameter by initial value (exporters rename and
      // transpose weights), then the updated values are compared.
      const unmatched = new Set(ref.params.map((p) => p.name));
      for (const [name, got] of values) {
        const init = initials.get(name) as Float32Array;
        let match: { p: Param; transposed: boolean } | undefined;
        for (const p of ref.params) {
          if (p.initial.length !== init.length) continue;
          if (p.initial.every((v, i) => Math.fround(v) === init[i])) match = { p, transposed: false };
          else if (p.shape.length === 2) {
            const [a, b] = p.shape;
            if (p.initial.every((v, i) => Math.fround(v) === init[(i % b) * a + Math.floor(i / b)])) match = { p, transposed: true };
          }
          if (match) break;
        }
        assert.ok(match, `no PyTorch parameter starts as ${name}`);
        unmatched.delete(match.p.name);
        const { p, transposed } = match;
        const [a, b] = p.shape;
        const want = (i: number) => (transposed ? p.updated[(i % a) * b + Math.floor(i / a)] : p.updated[i]);
        let dw = 0,
          scaleW = 0,
          du = 0,
          scaleU = 0;
        for (let i = 0; i < got.length; i++) {
          const upd = want(i) - init[i];
          dw = Math.max(dw, Math.abs(got[i] - want(i)));
          scaleW = Math.max(scaleW, Math.abs(want(i)));
          du = Math.max(du, Math.abs(got[i] - init[i] - upd));
          scaleU = Math.max(scaleU, Math.abs(upd));
        }
        worst = { weight: Math.max(worst.weight, dw / scaleW), update: Math.max(worst.update, du / scaleU) };
        assert.ok(dw <= 1e-4 * scaleW, `${p.name}: updated weight differs by ${dw} (largest ${scaleW})`);
        assert.ok(du <= 1e-3 * scaleU, `${p.name}: the update differs by ${du} (largest update ${scaleU})`);
      }
      assert.deepEqual([...unmatched], [], 'every PyTorch parameter trained in transferkit too');
      process.stderr.write(
        `gradient parity vit_tiny: worst weight ${worst.weight.toExponential(2)}, worst update ${worst.update.toExponential(2)} (relative to the tensor's largest)\n`,
      );
    } finally {
      await trainer.dispose();
    }
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

/**
 * Trains with `flags`, then: predict's probabilities on `files` equal ONNX Runtime's on the exported model, and
 * evaluate runs. Returns the saved model's base.onnx hash and the probabilities.
 */
async function trainPredictExport(
  data: string,
  base: string,
  flags: string[],
  out: string,
  size: number,
): Promise<{ sha: string; probs: number[]; phases: number }> {
  const tr = cli(['train', data, '--base', base, '--epochs', '2', '--batch-size', '8', '--out', out, '--json', ...flags]);
  assert.equal(tr.code, 0, tr.stderr);
  const result = JSON.parse(tr.stdout);
  const meta = JSON.parse(readFileSync(path.join(out, 'transferkit.json'), 'utf8'));
  const pr = cli(['predict', out, data, '--json', '--top-k', '2']);
  assert.equal(pr.code, 0, pr.stderr);
  const predictions = JSON.parse(pr.stdout) as Array<{ file: string; predictions: Array<{ label: string; probability: number }> }>;
  const ev = cli(['evaluate', out, data, '--json']);
  assert.equal(ev.code, 0, ev.stderr);
  const exported = path.join(out, '..', `${path.basename(out)}.onnx`);
  const exp = cli(['export', out, '--format', 'onnx', '--out', exported]);
  assert.equal(exp.code, 0, exp.stderr);
  const session = await ort.InferenceSession.create(exported);
  const n = predictions.length;
  const batch = await loadImageBatch(
    predictions.map((p) => ({ file: p.file })),
    { height: size, width: size, source: photoSource('none') },
  );
  const probs = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', batch.x, [n, size, size, 3]) }))[session.outputNames[0]]
    .data as Float32Array;
  await session.release();
  const classNames = meta.classNames as string[];
  // Two classes: one sigmoid unit, p(second class).
  const prob = (i: number, c: number) => (probs.length === n ? (c === 1 ? probs[i] : 1 - probs[i]) : probs[i * classNames.length + c]);
  predictions.forEach((p, i) => {
    for (const q of p.predictions) assert.ok(Math.abs(prob(i, classNames.indexOf(q.label)) - q.probability) < 1e-5, `${p.file} ${q.label}: ${q.probability}`);
  });
  return { sha: meta.onnxBase.sha256, probs: Array.from(probs), phases: result.phases.length };
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
