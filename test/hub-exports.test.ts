// Bases exported the way users export them: small Hugging Face, timm and torchvision models with seeded random
// weights, by torch 2's TorchScript exporter (opset 17) and its dynamo exporter (opset 20), in the Transformers.js
// folder layout (test/python/export_hub.py, in the .venv-torch2 venv that .ci/run makes). Each: features equal
// PyTorch's; its blocks are listed; cut before the last block, prefix then suffix give the whole graph's output
// (shape arithmetic folded); one fine-tuning step runs. Then the CLI fine-tunes dynamo exports end to end, and
// one SGD step of a dynamo ViT, ConvNeXt and ResNet equals PyTorch autograd's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { initBackend } from '../src/engine/backend.js';
import { GraphTrainer, fineTuneGraph } from '../src/engine/graph-trainer.js';
import { fineTuneCut, graphBlocks, prefixGraph } from '../src/engine/onnx/cut.js';
import { encodeFeatureBase, loadOnnxBase, onnxSummary, preprocessingOf } from '../src/engine/onnx-base.js';
import { graphPredictor } from '../src/engine/graph-predictor.js';
import { onnxPhotoSource } from '../src/train/model/onnx-base.js';
import { CIFAR_DIR, SHARED, cli, needsShared, tempDir } from './helpers.js';
import { SCRIPTS, exportOnce, hubPython } from './hub-python.js';
import { assertStepMatches, headModel, readStep, run, trainPredictExport } from './onnx-parity.js';

const HYMENOPTERA = path.join(SHARED, 'data', 'hymenoptera', 'val');

/** Every model of export_hub.py, each by both exporters. */
const MODELS = [
  'hf-vit',
  'hf-deit',
  'hf-dinov2',
  'hf-clip',
  'hf-swin',
  'hf-swinv2',
  'hf-convnext',
  'hf-convnextv2',
  'timm-resnet',
  'timm-efficientnet',
  'timm-efficientnet-ln',
  'timm-convnext',
  'timm-vit',
  'timm-byobnet',
  'timm-mobilevit',
  'tv-vit-headless',
];
const SPECS = MODELS.flatMap((m) => [`${m}:ts`, `${m}:dynamo`]);

const python = hubPython('exports by torch 2 exporters');
/** All exports, made once by one python process. */
const exported = exportOnce(python, 'export_hub.py', SPECS);

const f32 = (file: string) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4).slice();
};
const gap = (got: Float32Array, want: Float32Array) => {
  assert.equal(got.length, want.length);
  const scale = Math.max(...want.map(Math.abs));
  return Math.max(...got.map((v, i) => Math.abs(v - want[i]))) / scale;
};

describe('exports by torch 2 exporters (Hugging Face, timm, torchvision; TorchScript and dynamo)', () => {
  for (const spec of SPECS) {
    test(`${spec}: features equal PyTorch's; blocks listed; the suffix after the last block reads only the cut and trains`, {
      skip: python ? false : 'the torch 2 venv is absent',
    }, async () => {
      await initBackend('cpu');
      const folder = path.join(await exported(), spec.replace(':', '-'));
      const base = loadOnnxBase(folder);
      const size = base.preprocessing.size;
      const pixels = f32(path.join(folder, 'pixels.f32'));
      const feeds = { [base.prefix.graph.inputs[0].name]: new ort.Tensor('float32', pixels, [2, size, size, 3]) };
      const features = (await run(base.prefix, feeds)).data as Float32Array;
      const worst = gap(features, f32(path.join(folder, 'features.f32')));
      assert.ok(worst < 1e-4, `features differ from PyTorch's by ${worst} of the largest (${base.features.value}: ${base.features.rule})`);
      // As extract and train compute them: the feature base (a class-token ViT's last block for that token only).
      const predictor = await graphPredictor(encodeFeatureBase(base), { imageShape: [size, size, 3], label: spec });
      try {
        const fast = gap(await predictor.predict(pixels, 2), f32(path.join(folder, 'features.f32')));
        assert.ok(fast < 1e-4, `the feature base's features differ from PyTorch's by ${fast} of the largest`);
      } finally {
        await predictor.dispose();
      }
      assert.equal(onnxSummary(base).features.value, base.features.value);
      const numbered = graphBlocks(base.model.graph).filter((b) => b.numbered);
      assert.ok(numbered.length >= 2, `numbered blocks: ${numbered.map((b) => b.name).join(', ')}`);
      // Cut before the last block: prefix, then suffix (folded shape arithmetic included), give the features.
      const cut = fineTuneCut(base.prefix.graph, { lastBlocks: 1 });
      const middle = await run({ ...base.prefix, graph: prefixGraph(base.prefix.graph, cut.value) }, feeds);
      const split = (await run({ ...base.prefix, graph: cut.suffix.graph }, { [cut.value]: middle })).data as Float32Array;
      assert.ok(gap(split, features) < 1e-5, `${cut.block}: prefix + suffix differ from the whole by ${gap(split, features)}`);
      const ft = await fineTuneGraph(base.prefix, cut.value, headModel(features.length / 2, 2));
      const trainer = await GraphTrainer.create(ft, { loss: 'categorical_crossentropy', optimizer: { name: 'sgd' } });
      try {
        const x = (await run(ft.prefix, feeds)).data as Float32Array;
        const { loss } = await trainer.step(x, Float32Array.from([1, 0, 0, 1]), 2, 0.01);
        assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
      } finally {
        await trainer.dispose();
      }
    });
  }
});

describe('fine-tuning dynamo exports from the CLI', () => {
  const missing = needsShared(CIFAR_DIR);
  for (const name of ['hf-vit', 'timm-convnext', 'timm-resnet']) {
    test(`${name} (dynamo): layers lists its blocks; train --unfreeze-last-blocks 1 saves, predicts, evaluates, exports`, {
      skip: missing || (python ? false : 'the torch 2 venv is absent'),
    }, async () => {
      const folder = path.join(await exported(), `${name}-dynamo`);
      const layers = cli(['layers', folder, '--json']);
      assert.equal(layers.code, 0, layers.stderr);
      const blocks = (JSON.parse(layers.stdout) as Array<{ block: string; numbered: boolean }>).filter((b) => b.numbered);
      assert.ok(blocks.length >= 2, layers.stdout);
      const dir = tempDir();
      const data = path.join(dir, 'cifar');
      for (const c of ['airplane', 'automobile']) {
        mkdirSync(path.join(data, c), { recursive: true });
        for (const f of readdirSync(path.join(CIFAR_DIR, c)).sort().slice(0, 6)) symlinkSync(path.join(CIFAR_DIR, c, f), path.join(data, c, f));
      }
      const fe = await trainPredictExport(data, folder, [], path.join(dir, 'fe'), 32);
      const ft = await trainPredictExport(data, folder, ['--strategy', 'fine-tune', '--unfreeze-last-blocks', '1'], path.join(dir, 'ft'), 32);
      assert.equal(ft.phases, 2);
      assert.notEqual(ft.sha, fe.sha, 'the saved base changed: its last block trained');
    });
  }
});

describe('gradient parity with PyTorch autograd on dynamo exports', () => {
  // The block each step trains from (the module path the exporter recorded); BatchNorms are folded before export.
  const steps: Record<string, string> = { 'hf-vit': 'model.vit.layers.1', 'hf-convnext': 'model.convnext.encoder.stages.1', 'timm-resnet': 'layer4.0' };
  for (const [name, block] of Object.entries(steps)) {
    test(`${name} (dynamo): one SGD step of the last block, what follows it and a new head`, {
      skip: python ? false : 'the torch 2 venv is absent',
    }, async () => {
      await initBackend('cpu');
      const dir = tempDir();
      const r = spawnSync(python as string, [path.join(SCRIPTS, 'hub_grad_step.py'), dir, `${name}:dynamo`, block], {
        encoding: 'utf8',
        timeout: 300_000,
        cwd: SCRIPTS,
      });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const folder = path.join(dir, `${name}-dynamo`);
      const base = loadOnnxBase(folder);
      assert.equal(fineTuneCut(base.model.graph, { lastBlocks: 1 }).block, block);
      const worst = await assertStepMatches(readStep(path.join(folder, 'step.json')), base);
      process.stderr.write(`gradient parity ${name} (dynamo): worst weight ${worst.weight.toExponential(2)}, worst update ${worst.update.toExponential(2)}\n`);
    });
  }
});

describe('gradient parity with PyTorch autograd where a weight gradient is wide (576 columns, an explicit transpose)', () => {
  for (const exporter of ['ts', 'dynamo'] as const) {
    test(`hf-vit-wide (${exporter}): one SGD step of the last block and a new head`, {
      skip: python ? false : 'the torch 2 venv is absent',
    }, async () => {
      await initBackend('cpu');
      const dir = tempDir();
      const block = 'model.vit.layers.1';
      const r = spawnSync(python as string, [path.join(SCRIPTS, 'hub_grad_step.py'), dir, `hf-vit-wide:${exporter}`, block], {
        encoding: 'utf8',
        timeout: 300_000,
        cwd: SCRIPTS,
      });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const folder = path.join(dir, `hf-vit-wide-${exporter}`);
      const base = loadOnnxBase(folder);
      assert.equal(fineTuneCut(base.model.graph, { lastBlocks: 1 }).block, block);
      const worst = await assertStepMatches(readStep(path.join(folder, 'step.json')), base);
      process.stderr.write(
        `gradient parity hf-vit-wide (${exporter}): worst weight ${worst.weight.toExponential(2)}, worst update ${worst.update.toExponential(2)}\n`,
      );
    });
  }
});

describe('gradient parity with PyTorch autograd across a Swin stage boundary', () => {
  // The last 2 blocks are both stages: the suffix holds the patch merging, whose TorchScript Slices end at a
  // Constant INT64_MAX that the cut's shape folding writes back, and shifted windows, whose mask dynamo folds into
  // a float initializer that must not train.
  for (const [exporter, n] of [
    ['ts', 2],
    ['ts', 3],
    ['dynamo', 3],
  ] as const) {
    test(`hf-swin (${exporter}): one SGD step of the last 2 blocks and a new head at batch ${n}`, {
      skip: python ? false : 'the torch 2 venv is absent',
    }, async () => {
      await initBackend('cpu');
      const dir = tempDir();
      const block = 'model.swin.encoder.layers.0';
      const args = [path.join(SCRIPTS, 'hub_grad_step.py'), dir, `hf-swin:${exporter}`, block, String(n)];
      const r = spawnSync(python as string, args, { encoding: 'utf8', timeout: 300_000, cwd: SCRIPTS });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const folder = path.join(dir, `hf-swin-${exporter}`);
      const base = loadOnnxBase(folder);
      assert.equal(fineTuneCut(base.model.graph, { lastBlocks: 2 }).block, block);
      const worst = await assertStepMatches(readStep(path.join(folder, 'step.json')), base, 2);
      process.stderr.write(`hf-swin (${exporter}), batch ${n}: worst weight ${worst.weight.toExponential(2)}, update ${worst.update.toExponential(2)}\n`);
    });
  }
});

describe("preprocessing as preprocessor_config.json says, against transformers' image processors", () => {
  const missing = needsShared(HYMENOPTERA);
  // Portrait, wide (2.5:1), smaller than the crop's resize (351 × 250: enlarged) and large (2592 × 1944).
  const photos = [
    'ants/147542264_79506478c2.jpg',
    'ants/159515240_d5981e20d1.jpg',
    'ants/854534770_31f6156383.jpg',
    'bees/1328423762_f7a88a8451.jpg',
    'ants/Ant-1818.jpg',
    'ants/ants-devouring-remains-of-large-dead-insect-on-red-tile-in-Stellenbosch-South-Africa-closeup-1-DHD.jpg',
  ].map((f) => path.join(HYMENOPTERA, f));
  test('vit (squash), deit (squash, crop), dinov2 and clip (shortest edge, crop), convnext (crop_pct): the same pixels', {
    skip: missing || (python ? false : 'the torch 2 venv is absent'),
  }, async () => {
    const dir = tempDir();
    const r = spawnSync(python as string, [path.join(SCRIPTS, 'hf_preprocess.py'), dir, ...photos], { encoding: 'utf8', timeout: 300_000, cwd: SCRIPTS });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    for (const name of ['vit', 'deit', 'dinov2', 'clip', 'convnext']) {
      const p = preprocessingOf(path.join(dir, name), { name: '', nodes: [], initializers: [], inputs: [], outputs: [] });
      assert.equal(p.size, 224, name);
      const want = f32(path.join(dir, name, 'pixels.f32'));
      const source = onnxPhotoSource(p);
      const plane = p.size * p.size;
      let sum = 0;
      let worst = 0;
      for (const [k, file] of photos.entries()) {
        const px = await source.decode(file, p.size, p.size);
        for (let i = 0; i < plane; i++)
          for (let c = 0; c < 3; c++) {
            // Back to 0–255 levels, where the two resamplers' rounding is judged.
            const got = px[i * 3 + c];
            const theirs = ((want[(k * 3 + c) * plane + i] * p.std[c] + p.mean[c]) / p.rescale) as number;
            const d = Math.abs(got - theirs);
            sum += d;
            worst = Math.max(worst, d);
          }
      }
      const mean = sum / (photos.length * plane * 3);
      process.stderr.write(`preprocessing ${name}: mean |Δ| ${mean.toFixed(3)} levels, worst ${worst.toFixed(1)}\n`);
      // Pillow's resize is reproduced in its fixed point: what is left is the two JPEG decoders (libvips' and
      // Pillow's) rounding a few pixels one level apart, which bicubic's negative lobes can make two.
      assert.ok(mean < 0.05 && worst <= 3, `${name}: pixels differ from transformers' by ${mean} levels on average (worst ${worst})`);
    }
  });
});
