// A Predictor over ONNX bytes that already take channels-last images (an imported base, or an imported base
// merged with a head): one input, one output, the batch dimension dynamic or fixed at 1.
import type * as OrtTypes from 'onnxruntime-node';
import { TransferkitError } from '../errors.js';
import type { EngineName, Predictor } from './predictor.js';
import { createSession, loadOrt, ortReason } from './ort-runtime.js';

export interface GraphPredictorOptions {
  /** The image shape of one input (H, W, C). */
  imageShape: number[];
  /** Names the graph in errors. */
  label: string;
  engine?: EngineName;
}

/** Runs `onnx` in ONNX Runtime; its output shape is found by running one blank image. */
export async function graphPredictor(onnx: Uint8Array, o: GraphPredictorOptions): Promise<Predictor> {
  if (o.engine && o.engine !== 'ort') throw new TransferkitError(`${o.label} is an ONNX model: it runs on ONNX Runtime only, not --engine ${o.engine}`);
  const ort = await loadOrt();
  let session: OrtTypes.InferenceSession;
  try {
    session = await createSession(ort, onnx);
  } catch (err) {
    throw new TransferkitError(`ONNX Runtime rejected ${o.label}: ${ortReason(err)}`);
  }
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  const per = o.imageShape.reduce((a, b) => a * b, 1);
  const run = async (x: Float32Array, n: number) => {
    const out = await session.run({ [inputName]: new ort.Tensor('float32', x, [n, ...o.imageShape]) });
    const y = out[outputName];
    return { data: y.data as Float32Array, dims: y.dims as number[] };
  };
  let fixedBatch = false;
  let probe: { data: Float32Array; dims: number[] };
  try {
    probe = await run(new Float32Array(2 * per), 2);
  } catch {
    // Exported with a fixed batch of one: run image by image.
    try {
      probe = await run(new Float32Array(per), 1);
    } catch (err) {
      await session.release();
      throw new TransferkitError(`${o.label} does not run on a blank ${o.imageShape.join('×')} image: ${ortReason(err)}`);
    }
    fixedBatch = true;
  }
  const rowShape = probe.dims.slice(1);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  return {
    engine: 'ort',
    outputShape: (n) => [n, ...rowShape],
    async predict(x, n) {
      if (!fixedBatch) return (await run(x, n)).data;
      const out = new Float32Array(n * rowSize);
      for (let i = 0; i < n; i++) out.set((await run(x.subarray(i * per, (i + 1) * per), 1)).data, i * rowSize);
      return out;
    },
    dispose: () => session.release(),
  };
}
