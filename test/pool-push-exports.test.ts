// The pool push (grad/pool-push.ts) on ConvNeXts exported the way users export them (torchvision, timm, Hugging
// Face; TorchScript and dynamo exporters; test/python/export_pool_push.py in the .venv-torch2 venv): the last-2-blocks
// fine-tune step with the pool moved above the last block's pointwise Dense gives the loss and updates of the step
// without it, and that Dense runs on one row per image.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { initBackend } from '../src/engine/backend.js';
import { fineTuneGraph } from '../src/engine/graph-trainer.js';
import { fineTuneCut } from '../src/engine/onnx/cut.js';
import { pushPools } from '../src/engine/onnx/grad/pool-push.js';
import { inferShapes } from '../src/engine/onnx/grad/shapes.js';
import { GraphBuilder } from '../src/engine/onnx/graph.js';
import { loadOnnxBase } from '../src/engine/onnx-base.js';
import { exportOnce, hubPython } from './hub-python.js';
import { headModel } from './onnx-parity.js';
import { compareSteps, matmulElements } from './token-steps.js';

const SPECS = ['tv-convnext', 'timm-convnext', 'hf-convnext'].flatMap((m) => [`${m}:ts`, `${m}:dynamo`]);

const python = hubPython('the pool push on exported ConvNeXts');
/** All exports, made once by one python process. */
const exported = exportOnce(python, 'export_pool_push.py', SPECS);

describe('pool push on exported ConvNeXts (torchvision, timm, Hugging Face; TorchScript and dynamo)', () => {
  for (const spec of SPECS) {
    test(`${spec}: the last 2 blocks' step with the pool moved up equals the step without`, {
      skip: python ? false : 'the torch 2 venv is absent',
    }, async () => {
      await initBackend('cpu');
      const base = loadOnnxBase(path.join(await exported(), spec.replace(':', '-')));
      const prefix = base.prefix.graph;
      const dim = Number(inferShapes(prefix).get(prefix.outputs[0].name)?.dims?.[1]);
      const ft = await fineTuneGraph(base.prefix, fineTuneCut(base.model.graph, { lastBlocks: 2 }).value, headModel(dim, 2));
      const forward = ft.forward.graph;
      const output = forward.outputs[0].name;
      const opset = Math.max(17, ...ft.forward.opsetImports.filter((o) => o.domain === '' || o.domain === 'ai.onnx').map((o) => o.version));
      const g = new GraphBuilder(forward.name);
      g.adopt(forward);
      assert.ok(pushPools(g, opset, [output]), 'the pool moved');
      // The last block's second pointwise Dense ([positions, 4·dim] × [4·dim, dim]) now writes one row per image.
      const pool = [...forward.nodes].reverse().find((n) => n.opType === 'GlobalAveragePool' || n.opType === 'ReduceMean');
      const map = inferShapes(forward).get(pool?.inputs[0] ?? '')?.dims ?? [];
      const positions = Number(map[2]) * Number(map[3]);
      assert.equal(matmulElements(forward) - matmulElements(g.graph()), (positions - 1) * dim, `the map before the pool: ${JSON.stringify(map)}`);
      const trainable = [...ft.suffixWeights, ...ft.headWeights.map((w) => w.name)];
      const gaps = await compareSteps(forward, { input: ft.cut, output, trainable, opset }, { pushPools: false });
      process.stderr.write(`pool push ${spec}: loss ${gaps.loss.toExponential(2)}, worst update ${gaps.update.toExponential(2)}\n`);
      assert.ok(gaps.loss < 1e-5 && gaps.update < 1e-3, `the pushed step differs from the unrewritten one: ${JSON.stringify(gaps)}`);
    });
  }
});
