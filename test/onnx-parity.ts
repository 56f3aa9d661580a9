// What the tests of fine-tuning imported ONNX bases share: the new head, running a graph, one SGD step against
// PyTorch autograd's (step.json from test/python/grad_step.py or hub_grad_step.py), and train → predict → export.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import ort from 'onnxruntime-node';
import { loadImageBatch } from '../src/data/batches.js';
import { GraphTrainer, fineTuneGraph } from '../src/engine/graph-trainer.js';
import { compileInference } from '../src/engine/onnx/compile.js';
import { fineTuneCut } from '../src/engine/onnx/cut.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { type ModelValue, encodeModelValue } from '../src/engine/onnx/proto.js';
import type { OnnxBase } from '../src/engine/onnx-base.js';
import { onnxPhotoSource, standInBase } from '../src/train/model/onnx-base.js';
import { cli } from './helpers.js';

/** The classifier behind the ONNX base: the stand-in layer, then a dense softmax (weights given or seeded). */
export function headModel(dim: number, classes: number, w?: { kernel: Float32Array; bias: Float32Array }): tfl.LayersModel {
  const input = tfl.input({ shape: [dim] });
  const f = standInBase(dim).apply(input) as tfl.SymbolicTensor;
  const dense = tfl.layers.dense({ units: classes, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) });
  const model = tfl.model({ inputs: input, outputs: dense.apply(f) as tfl.SymbolicTensor });
  if (w) dense.setWeights([tf.tensor(w.kernel, [dim, classes]), tf.tensor(w.bias, [classes])]);
  return model;
}

export async function run(model: ModelValue, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(encodeModelValue(model));
  try {
    return (await session.run(feeds))[model.graph.outputs[0].name];
  } finally {
    await session.release();
  }
}

/** A trained parameter in step.json: PyTorch's name, shape, and values before and after the step. */
export type Param = { name: string; shape: number[]; initial: number[]; updated: number[] };
export interface StepRef {
  lr: number;
  loss: number;
  pixels: number[];
  shape: number[];
  targets: number[];
  params: Param[];
}

export const readStep = (file: string): StepRef => JSON.parse(readFileSync(file, 'utf8')) as StepRef;

/**
 * One SGD step of `base`'s last blocks (1 unless said) + a new head with `ref`'s initial head weights: the loss and
 * every trained tensor equal PyTorch's (1e-4 of the tensor's largest value; the update itself 1e-3 of the largest
 * update). Returns the worst relative gaps.
 */
export async function assertStepMatches(ref: StepRef, base: OnnxBase, lastBlocks = 1): Promise<{ weight: number; update: number }> {
  const cut = fineTuneCut(base.model.graph, { lastBlocks });
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
    const initials = new Map(
      ft.forward.graph.initializers.filter((t) => values.has(t.name)).map((t) => [t.name, new Float32Array(new Uint8Array(t.raw).buffer)]),
    );
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
      worst = { weight: Math.max(worst.weight, dw / scaleW), update: scaleU > 1e-6 * scaleW ? Math.max(worst.update, du / scaleU) : worst.update };
      assert.ok(dw <= 1e-4 * scaleW, `${p.name}: updated weight differs by ${dw} (largest ${scaleW})`);
      // An update below the weight's float precision is rounding noise on both sides (attention's key bias: softmax
      // ignores it, its true gradient is 0), so it is held to the weight's tolerance only.
      assert.ok(du <= 1e-3 * scaleU || scaleU <= 1e-6 * scaleW, `${p.name}: the update differs by ${du} (largest update ${scaleU})`);
    }
    assert.deepEqual([...unmatched], [], 'every PyTorch parameter trained in transferkit too');
  } finally {
    await trainer.dispose();
  }
  return worst;
}

/**
 * Trains with `flags`, then: predict's probabilities on `files` equal ONNX Runtime's on the exported model, and
 * evaluate runs. Returns the saved model's base.onnx hash and the probabilities.
 */
export async function trainPredictExport(
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
    { height: size, width: size, source: onnxPhotoSource(meta.onnxBase.preprocessing) },
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

/** A two-conv base made without PyTorch: conv1 (frozen) → conv2 (trained) → pool → classifier. */
export async function convBase(file: string, size: number): Promise<void> {
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
