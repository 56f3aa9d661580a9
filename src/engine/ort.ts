import type * as tfl from '@tensorflow/tfjs-layers';
import type * as OrtTypes from 'onnxruntime-node';
import { TransferkitError } from '../errors.js';
import { type CompileOptions, type CompiledGraph, compileInference } from './onnx/compile.js';
import { type Ort, createSession, loadOrt, onCpu, ortReason } from './ort-runtime.js';

/** A compiled model (or prefix) running in ONNX Runtime: float32 NHWC batches in, outputs out. */
export class OrtPredictor {
  private constructor(
    private readonly ort: Ort,
    private readonly session: OrtTypes.InferenceSession,
    readonly graph: CompiledGraph,
  ) {}

  static async create(model: tfl.LayersModel, options: CompileOptions = {}): Promise<OrtPredictor> {
    const graph = compileInference(model, { winograd: onCpu(), ...options });
    const ort = await loadOrt();
    let session: OrtTypes.InferenceSession;
    try {
      session = await createSession(ort, graph.onnx);
    } catch (err) {
      throw new TransferkitError(`ONNX Runtime rejected the graph compiled from ${model.name}: ${ortReason(err)}`);
    }
    return new OrtPredictor(ort, session, graph);
  }

  /** Output shape for a batch of `n` (channels last). */
  outputShape(n: number): number[] {
    return this.graph.outputShape.map((d, i) => (i === 0 ? n : (d as number)));
  }

  /** Runs one batch: `x` holds n images of the input shape, channels last. */
  async predict(x: Float32Array, shape: number[]): Promise<{ data: Float32Array; shape: number[] }> {
    const out = await this.session.run({ [this.graph.inputName]: new this.ort.Tensor('float32', x, shape) });
    const y = out[this.graph.outputName];
    return { data: y.data as Float32Array, shape: y.dims as number[] };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
