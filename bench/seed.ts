// The seed workflow (Keras's recipe: head, then block5): transferkit's way against PyTorch the Keras way, on 2,000
// (quick: 500) CIFAR-10 cats and dogs at 32x32.
import type * as tfl from '@tensorflow/tfjs-layers';
import path from 'node:path';
import { freeze, unfreezeFrom } from '../src/index.js';
import { NpyWriter } from '../src/data/npy.js';
import { decodeImage } from '../src/data/decode.js';
import { listImageFolder } from '../src/data/folders.js';
import { preprocessPixels } from '../src/data/preprocess.js';
import { createPredictor } from '../src/engine/predictor.js';
import { OrtTrainer } from '../src/engine/ort-trainer.js';
import { scratchDir } from '../src/util/fs.js';
import type { TorchPeer } from './peer.js';
import { vgg } from './vgg.js';

/** 2,000 CIFAR-10 images (cat, dog) decoded once and preprocessed for VGG16: the seed workflow's data. */
export async function seedData(cifar: string, n: number): Promise<{ x: Float32Array; y: Float32Array }> {
  const folder = await listImageFolder(cifar);
  const pick = folder.files.filter((f) => ['cat', 'dog'].includes(folder.classNames[f.label]));
  const cat = folder.classNames.indexOf('cat');
  const chosen = [...pick.filter((f) => f.label === cat).slice(0, n / 2), ...pick.filter((f) => f.label !== cat).slice(0, n / 2)];
  const x = new Float32Array(chosen.length * 32 * 32 * 3);
  for (const [i, f] of chosen.entries()) x.set(preprocessPixels(await decodeImage(f.file, { height: 32, width: 32 }), 'caffe'), i * 3072);
  return { x, y: Float32Array.from(chosen, (f) => (f.label === cat ? 0 : 1)) };
}

/** Images per batch of the prefixes' extraction. */
const EXTRACT_BATCH = 256;

/** transferkit's way: each frozen prefix computed once, then only the trained part runs every epoch. */
export async function seedWorkflowOrt(x: Float32Array, y: Float32Array, epochs: number, batch: number): Promise<number> {
  const n = y.length;
  const t = performance.now();
  const model = await vgg(32, true);
  const base = model.layers[0] as tfl.LayersModel;
  const phases = [
    { from: 'flatten', lr: 1e-3, prefix: () => createPredictor(base, { engine: 'ort', batchSize: EXTRACT_BATCH }) },
    { from: 'block5_conv1', lr: 1e-4, prefix: () => createPredictor(model, { engine: 'ort', until: 'block5_conv1', batchSize: EXTRACT_BATCH }) },
  ];
  for (const phase of phases) {
    if (phase.from === 'flatten') freeze(base);
    else unfreezeFrom(model, phase.from);
    const predictor = await phase.prefix();
    const rowSize = predictor
      .outputShape(1)
      .slice(1)
      .reduce((a, b) => a * b, 1);
    const cached = new Float32Array(n * rowSize);
    for (let s = 0; s < n; s += EXTRACT_BATCH) {
      const m = Math.min(EXTRACT_BATCH, n - s);
      cached.set(await predictor.predict(x.subarray(s * 3072, (s + m) * 3072), m), s * rowSize);
    }
    await predictor.dispose();
    const trainer = await OrtTrainer.create(model, { from: phase.from, loss: 'binary_crossentropy', optimizer: { name: 'adam' }, batchSize: batch });
    for (let e = 0; e < epochs; e++) {
      for (let s = 0; s < n; s += batch) {
        const m = Math.min(batch, n - s);
        await trainer.step(cached.subarray(s * rowSize, (s + m) * rowSize), y.subarray(s, s + m), m, phase.lr);
      }
    }
    trainer.writeBack();
    await trainer.dispose();
  }
  return (performance.now() - t) / 1000;
}

async function writeNpy(file: string, data: Float32Array, shape: number[]): Promise<void> {
  const w = await NpyWriter.open(file, shape.slice(1));
  await w.append(data, shape[0]);
  await w.close();
}

/** PyTorch's seconds for the same workflow the Keras way (the frozen base recomputed every epoch). */
export async function seedWorkflowTorch(peer: TorchPeer, seed: { x: Float32Array; y: Float32Array }, epochs: number): Promise<number | null> {
  const dir = scratchDir('transferkit-bench-');
  const files = { images: path.join(dir, 'x.npy'), labels: path.join(dir, 'y.npy') };
  await writeNpy(files.images, seed.x, [seed.y.length, 32, 32, 3]);
  await writeNpy(files.labels, seed.y, [seed.y.length]);
  return (await peer.ask({ kind: 'seed', name: 'seed', ...files, epochs, batch: 32 })).seconds ?? null;
}
