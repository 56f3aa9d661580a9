import { tf, tfl } from '../tfjs.js';
import { TransferkitError } from '../errors.js';
import { baseModel } from '../model/introspect.js';
import { initBackend } from './backend.js';
import { OrtPredictor } from './ort.js';
import { loadOrt } from './ort-runtime.js';

/** Where models run: ONNX Runtime (`ort`), or tfjs on wasm or cpu. */
export type EngineName = 'ort' | 'wasm' | 'cpu';
export const ENGINES: readonly EngineName[] = ['ort', 'wasm', 'cpu'];

let fallbackNoticed = false;

/**
 * The engine to run on: the one asked for (flag, else `TRANSFERKIT_ENGINE`), else ONNX Runtime when it loads,
 * else tfjs on wasm with a one-line notice.
 */
export async function resolveEngine(requested?: string): Promise<EngineName> {
  const wanted = requested ?? process.env.TRANSFERKIT_ENGINE;
  if (wanted !== undefined && wanted !== '') {
    if (!(ENGINES as readonly string[]).includes(wanted)) throw new TransferkitError(`unknown engine '${wanted}': use one of ${ENGINES.join(', ')}`);
    return wanted as EngineName;
  }
  try {
    await loadOrt();
    return 'ort';
  } catch (err) {
    // onnxruntime-node is an optional dependency: npm drops it when its install script (a CUDA download on Linux
    // x64) fails offline, and the install succeeds on tfjs-wasm instead.
    const missing = (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
    const why = missing
      ? 'onnxruntime-node is not installed; offline, add "allowScripts": {"onnxruntime-node": false} to your package.json and reinstall'
      : (err as Error).message.split('\n')[0];
    if (!fallbackNoticed) process.stderr.write(`transferkit: ONNX Runtime does not load here (${why}); using tfjs on wasm\n`);
    fallbackNoticed = true;
    return 'wasm';
  }
}

/** A forward pass over batches of channels-last float32 images, on one engine. */
export interface Predictor {
  engine: EngineName;
  /** Output shape for a batch of n. */
  outputShape(n: number): number[];
  /** The outputs of n inputs, row after row. */
  predict(x: Float32Array, n: number): Promise<Float32Array>;
  /** Frees the engine's session or tensors. */
  dispose(): Promise<void>;
}

export interface PredictorOptions {
  engine?: EngineName;
  /** Run only the prefix that ends before this layer (the frozen part of a fine-tune). */
  until?: string;
  /**
   * The batch size most calls will have (default 1; any batch runs): ONNX Runtime's CPU graph takes the
   * convolution algorithms that are fastest at it (see CompileOptions.batchSize).
   */
  batchSize?: number;
}

function inputDims(model: tfl.LayersModel, n: number): number[] {
  const shape = model.inputs[0].shape;
  if (shape.slice(1).some((d) => d === null)) throw new TransferkitError(`model ${model.name} has no fixed input size; build it with an inputShape`);
  return [n, ...(shape.slice(1) as number[])];
}

class TfjsPredictor implements Predictor {
  constructor(
    readonly engine: EngineName,
    private readonly model: tfl.LayersModel,
  ) {}

  outputShape(n: number): number[] {
    return [n, ...(this.model.outputs[0].shape.slice(1) as number[])];
  }

  async predict(x: Float32Array, n: number): Promise<Float32Array> {
    const input = tf.tensor(x, inputDims(this.model, n), 'float32');
    const y = this.model.predict(input) as tf.Tensor;
    try {
      return (await y.data()) as Float32Array;
    } finally {
      tf.dispose([input, y]);
    }
  }

  async dispose(): Promise<void> {}
}

/** A predictor for `model` (or its prefix) on the chosen engine. */
export async function createPredictor(model: tfl.LayersModel, options: PredictorOptions = {}): Promise<Predictor> {
  const engine = await resolveEngine(options.engine);
  if (engine === 'ort') {
    const ort = await OrtPredictor.create(model, { until: options.until, batchSize: options.batchSize });
    return {
      engine,
      outputShape: (n) => ort.outputShape(n),
      predict: async (x, n) => (await ort.predict(x, inputDims(model, n))).data,
      dispose: () => ort.dispose(),
    };
  }
  await initBackend(engine);
  let target = model;
  if (options.until) {
    // The cut is a head layer (its input: the base's output) or a layer inside the base.
    const owner = model.layers.some((l) => l.name === options.until) ? model : baseModel(model);
    const layer = owner.layers.find((l) => l.name === options.until);
    if (!layer) throw new TransferkitError(`no layer named '${options.until}' in ${owner.name}`);
    target = tfl.model({ inputs: owner.inputs, outputs: layer.input as tfl.SymbolicTensor });
  }
  return new TfjsPredictor(engine, target);
}
