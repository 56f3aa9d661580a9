import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../../errors.js';
import { foldPadsIntoConvs } from './fold-pad.js';
import { GraphBuilder } from './graph.js';
import { type Value, layerRule, toNchw, toNhwc } from './keras-layers/index.js';
import { walkModel } from './walk.js';
import type { Dim } from './proto.js';

/** Stops the walk at the layer a prefix graph ends before. */
class StopAt {
  constructor(
    readonly values: Value[],
    readonly tensors: tfl.SymbolicTensor[],
  ) {}
}

function dims(shape: Array<number | null>): Dim[] {
  return shape.map((d, i) => (d === null ? (i === 0 ? 'N' : `d${i}`) : d));
}

export interface CompiledGraph {
  onnx: Uint8Array;
  inputName: string;
  outputName: string;
  /** Keras's shapes (channels last), batch as null. */
  inputShape: Array<number | null>;
  outputShape: Array<number | null>;
}

export interface CompileOptions {
  /** End the graph just before this layer (its input becomes the output): the frozen prefix of a fine-tune. */
  until?: string;
  /**
   * Wide 3×3 stride-1 convolutions as Winograd's F(4×4, 3×3) where that is faster on ONNX Runtime's CPU kernels
   * (keras-layers/conv-winograd.ts). Off by default: a graph written for other runtimes (export, a GPU) keeps
   * its Conv nodes, which those run with their own algorithms.
   */
  winograd?: boolean;
  /**
   * The batch size most runs will have (default 1). The graph runs any batch; where an algorithm's speed depends
   * on it (the Winograd form loses to a direct convolution on few tiles), the choice is made for this one.
   */
  batchSize?: number;
}

/**
 * Compiles a tfjs-layers model (the zoo's bases, with or without a head) into an ONNX inference graph with its
 * weights as constants. Input and output are channels-last, as in Keras.
 */
export function compileInference(model: tfl.LayersModel, options: CompileOptions = {}): CompiledGraph {
  if (model.inputs.length !== 1) throw new TransferkitError(`the ONNX compiler needs a model with one input; ${model.name} has ${model.inputs.length}`);
  const g = new GraphBuilder(model.name);
  const inputShape = model.inputs[0].shape as Array<number | null>;
  const input = g.input('input', dims(inputShape));
  const feed = toNchw(g, { name: input, rank: inputShape.length });
  let outputs: Value[];
  let outputShape: Array<number | null>;
  try {
    outputs = walkModel(model, [feed], (layer, inputs, call) => {
      if (layer.name === options.until) throw new StopAt(inputs, call.inputs);
      return layerRule(layer).infer({
        g,
        layer,
        c: layer.getConfig() as Record<string, unknown>,
        inputs,
        winograd: options.winograd ?? false,
        batchSize: options.batchSize ?? 1,
      });
    });
    if (options.until) throw new TransferkitError(`no layer named '${options.until}' in ${model.name}`);
    outputShape = model.outputs[0].shape as Array<number | null>;
  } catch (err) {
    if (!(err instanceof StopAt)) throw err;
    if (err.values.length !== 1)
      throw new TransferkitError(`layer ${options.until} takes ${err.values.length} inputs; a prefix must end before a single-input layer`);
    outputs = err.values;
    outputShape = err.tensors[0].shape as Array<number | null>;
  }
  if (outputs.length !== 1) throw new TransferkitError(`the ONNX compiler needs a model with one output; ${model.name} has ${outputs.length}`);
  const out = toNhwc(g, outputs[0]);
  const outputName = g.op('Identity', [out.name], {}, 'output');
  g.output(outputName, dims(outputShape));
  foldPadsIntoConvs(g.graph());
  return { onnx: g.encode(), inputName: input, outputName, inputShape, outputShape };
}
