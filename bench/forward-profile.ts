// `node dist/bench/forward-profile.js [--models=mobilenet_v2,efficientnet_v2_s,convnext_tiny] [--onnx=A.onnx,B.onnx]
// [--runs=N]`: where a forward pass's time goes, per ONNX op type, by ONNX Runtime's profiler (issue 30's forward
// rows): the zoo models' inference sessions as the bench's zoo rows build them (224, batch 8), and exported graphs'
// (--onnx) as its vit rows do. Prints each op type's share of kernel time and the costliest nodes. Shares, not
// times, hold on a loaded machine.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { createPredictor, initBackend } from '../src/index.js';
import { zooModel } from './step-cases.js';
import { graphPredictor } from '../src/engine/graph-predictor.js';
import { encodeFeatureBase, loadOnnxBase } from '../src/engine/onnx-base.js';
import type { Predictor } from '../src/engine/predictor.js';
import { textTable } from '../src/report/tables.js';
import { opShares, profiled, topNodes } from './op-profile.js';
import { BENCH_THREADS } from './peer.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const RUNS = Number(arg('runs') ?? 5);

/** A zoo model's inference predictor as the bench's zoo rows build it (headless + gap, dense:1:sigmoid). */
export async function zooForward(id: string): Promise<Predictor> {
  const m = await zooModel(id);
  return createPredictor(m.layers[0] as Parameters<typeof createPredictor>[0], { engine: 'ort', batchSize: 8 });
}

/** An exported graph's predictor as the bench's vit rows build it. */
export const onnxForward = (file: string): Promise<Predictor> =>
  graphPredictor(encodeFeatureBase(loadOnnxBase(file)), { imageShape: [224, 224, 3], label: path.basename(file) });

async function profile(name: string, make: () => Promise<Predictor>): Promise<void> {
  let wall = 0;
  const trace = await profiled(name, async () => {
    const p = await make();
    const x = tf.randomUniform([8, 224, 224, 3], -1, 1).dataSync() as Float32Array;
    await p.predict(x, 8);
    const t = performance.now();
    for (let i = 0; i < RUNS; i++) await p.predict(x, 8);
    wall = (performance.now() - t) / RUNS;
    await p.dispose();
  });
  // The graph predictor's probe run (batch 2) is in the trace too: shares, not times, are what this prints.
  process.stdout.write(
    `\n${name} forward 224 b8: ${wall.toFixed(1)} ms wall per run (${BENCH_THREADS} threads)\n` +
      textTable(
        ['Op type', 'Nodes', 'Share'],
        opShares(trace, RUNS + 1).map((o) => [o.op, String(o.nodes), `${(100 * o.share).toFixed(1)}%`]),
        [false, true, true],
      ) +
      textTable(
        ['Node (top 12)', 'Op type', 'Share'],
        topNodes(trace, RUNS + 1, 12).map((o) => [o.node, o.op, `${(100 * o.share).toFixed(1)}%`]),
        [false, false, true],
      ),
  );
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const files = arg('onnx')?.split(',') ?? [];
  const models = arg('models')?.split(',') ?? (files.length ? [] : ['mobilenet_v2', 'efficientnet_v2_s', 'convnext_tiny']);
  for (const id of models) await profile(id, () => zooForward(id));
  for (const f of files) await profile(path.basename(f), () => onnxForward(f));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
