// "Try it": the saved model runs here, in the browser, with tfjs (wasm, else cpu) — the proof that the export
// works client-side. Pixels are preprocessed by the same function the Node side uses.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '../../src/applications/layers.js';
import { type PreprocessMode, preprocessPixels } from '../../src/data/preprocess.js';
import { type SavedModel, fileUrl } from './api.js';

let backend: Promise<string> | undefined;

function ready(): Promise<string> {
  backend ??= (async () => {
    tf.env().set('PROD', true);
    setWasmPaths('/');
    try {
      if (await tf.setBackend('wasm')) return 'wasm';
    } catch {
      // No wasm here: the cpu backend still runs a small model.
    }
    await tf.setBackend('cpu');
    return 'cpu';
  })();
  return backend;
}

const loaded = new Map<string, Promise<tfl.LayersModel>>();

export async function classify(
  saved: SavedModel,
  image: HTMLImageElement,
  topK = 3,
): Promise<{ backend: string; predictions: Array<{ label: string; probability: number }> }> {
  const engine = await ready();
  const dir = saved.path;
  if (!loaded.has(dir)) {
    loaded.set(dir, tfl.loadLayersModel(fileUrl(`${dir}/model.json`)));
  }
  const model = await (loaded.get(dir) as Promise<tfl.LayersModel>);
  const [h, w] = saved.metadata.inputShape;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.drawImage(image, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const px = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) px[i * 3 + c] = rgba[i * 4 + c];
  preprocessPixels(px, saved.metadata.preprocessing as PreprocessMode);
  const x = tf.tensor4d(px, [1, h, w, 3]);
  const y = model.predict(x) as tf.Tensor;
  const out = Array.from(await y.data());
  tf.dispose([x, y]);
  const probs = out.length === 1 ? [1 - out[0], out[0]] : out;
  const names = saved.metadata.classNames ?? probs.map((_, i) => String(i));
  const predictions = probs
    .map((probability, i) => ({ label: names[i], probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, topK);
  return { backend: engine, predictions };
}
