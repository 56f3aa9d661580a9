// Token liveness (grad/prune-tokens.ts) on ViTs exported the way users export them (Hugging Face ViT, DeiT, CLIP
// and DINOv2, timm, torchvision; TorchScript and dynamo exporters; test/python/export_vit_tokens.py in the
// .venv-torch2 venv): the last-2-blocks fine-tune step with the pass gives the loss and updates of the step without
// it and does less MatMul work where the output reads the class token; models whose output reads every token
// (DINOv2's class token and patch mean, timm's mean pool) are left as they are.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { initBackend } from '../src/engine/backend.js';
import { fineTuneGraph } from '../src/engine/graph-trainer.js';
import { fineTuneCut } from '../src/engine/onnx/cut.js';
import { pruneTokens } from '../src/engine/onnx/grad/prune-tokens.js';
import { inferShapes } from '../src/engine/onnx/grad/shapes.js';
import { loadOnnxBase } from '../src/engine/onnx-base.js';
import { exportOnce, hubPython } from './hub-python.js';
import { headModel } from './onnx-parity.js';
import { compareSteps, matmulElements, projectionColumns } from './token-steps.js';

const CLASS_TOKEN = ['hf-vit', 'hf-deit', 'hf-clip', 'timm-vit', 'tv-vit-headless'];
// DINOv2's classifier reads the class token and the patch tokens' mean; timm's avg pool the patch tokens' mean.
const SPECS = [...CLASS_TOKEN, 'hf-dinov2', 'timm-vit-avg'].flatMap((m) => [`${m}:ts`, `${m}:dynamo`]);

const python = hubPython('token liveness on exported ViTs');
/** All exports, made once by one python process. */
const exported = exportOnce(python, 'export_vit_tokens.py', SPECS);

describe('token liveness on exported ViTs (Hugging Face, timm, torchvision; TorchScript and dynamo)', () => {
  for (const spec of SPECS) {
    const classToken = CLASS_TOKEN.includes(spec.split(':')[0]);
    test(`${spec}: the last 2 blocks' step ${classToken ? 'for the class token equals the whole step' : 'is left whole'}`, {
      skip: python ? false : 'the torch 2 venv is absent',
    }, async () => {
      await initBackend('cpu');
      const folder = path.join(await exported(), spec.replace(':', '-'));
      const base = loadOnnxBase(folder);
      // features.f32 holds PyTorch's features of 2 images.
      const dim = statSync(path.join(folder, 'features.f32')).size / 4 / 2;
      const ft = await fineTuneGraph(base.prefix, fineTuneCut(base.model.graph, { lastBlocks: 2 }).value, headModel(dim, 2));
      const forward = ft.forward.graph;
      const output = forward.outputs[0].name;
      const opset = Math.max(17, ...ft.forward.opsetImports.filter((o) => o.domain === '' || o.domain === 'ai.onnx').map((o) => o.version));
      const pruned = pruneTokens(forward, inferShapes(forward), opset, [output]);
      if (classToken) {
        assert.ok(matmulElements(pruned) < 0.8 * matmulElements(forward), `MatMul outputs ${matmulElements(forward)} → ${matmulElements(pruned)}`);
        // Over every token: block 10's projections, and block 11's keys and values only (its queries for the class token).
        const tokens = ft.cutShape[0];
        assert.equal(projectionColumns(pruned, tokens), projectionColumns(forward, tokens) / 2 + 2 * dim);
      } else assert.equal(pruned, forward);
      const trainable = [...ft.suffixWeights, ...ft.headWeights.map((w) => w.name)];
      const gaps = await compareSteps(forward, { input: ft.cut, output, trainable, opset });
      process.stderr.write(`token liveness ${spec}: loss ${gaps.loss.toExponential(2)}, worst update ${gaps.update.toExponential(2)}\n`);
      assert.ok(gaps.loss < 1e-5 && gaps.update < 1e-3, `pruned step differs from the whole one: ${JSON.stringify(gaps)}`);
    });
  }
});
