import * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../../errors.js';
import { GraphBuilder } from './graph.js';
import { type Value, emitLayer, toNchw, toNhwc } from './layers.js';
import type { Dim } from './proto.js';

type Node = { inputTensors: tfl.SymbolicTensor[]; outputTensors: tfl.SymbolicTensor[] };
type ContainerInternals = { containerNodes: Set<string> };

/** Stops the walk at the layer a prefix graph ends before. */
class StopAt {
  constructor(
    readonly values: Value[],
    readonly tensors: tfl.SymbolicTensor[],
  ) {}
}

/** The node through which `layer` takes part in `container`'s graph. */
function nodeIn(container: tfl.LayersModel, layer: tfl.layers.Layer): Node {
  const keys = (container as unknown as ContainerInternals).containerNodes;
  const nodes = layer.inboundNodes as unknown as Node[];
  const i = nodes.findIndex((_, k) => keys.has(`${layer.name}_ib-${k}`));
  if (i < 0) throw new TransferkitError(`internal: layer ${layer.name} has no node in ${container.name}`);
  return nodes[i];
}

/** The functional graph of a container: a Sequential keeps one inside (its `model`). */
function functionalOf(container: tfl.LayersModel): tfl.LayersModel {
  if (container.getClassName() !== 'Sequential') return container;
  const seq = container as unknown as { model?: tfl.LayersModel; build(): void };
  if (!seq.model) seq.build();
  return seq.model as tfl.LayersModel;
}

/** Emits a container's layers in topological order; `feeds` maps its input tensors to graph values. */
function emitContainer(g: GraphBuilder, outer: tfl.LayersModel, feeds: Value[], until?: string): Value[] {
  const container = functionalOf(outer);
  const values = new Map<number, Value>();
  container.inputs.forEach((t, i) => values.set(t.id, feeds[i]));
  const get = (t: tfl.SymbolicTensor) => {
    const v = values.get(t.id);
    if (!v) throw new TransferkitError(`internal: tensor ${t.name} used before it is computed`);
    return v;
  };
  for (const layer of container.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const node = nodeIn(container, layer);
    const inputs = node.inputTensors.map(get);
    if (layer.name === until) throw new StopAt(inputs, node.inputTensors);
    const outputs = layer instanceof tfl.LayersModel ? emitContainer(g, layer, inputs, until) : emitLayer(g, layer, inputs);
    node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]));
  }
  return container.outputs.map(get);
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
    outputs = emitContainer(g, model, [feed], options.until);
    if (options.until) throw new TransferkitError(`no layer named '${options.until}' in ${model.name}`);
    outputShape = model.outputs[0].shape as Array<number | null>;
  } catch (err) {
    if (!(err instanceof StopAt)) throw err;
    if (err.values.length !== 1) throw new TransferkitError(`layer ${options.until} takes ${err.values.length} inputs; a prefix must end before a single-input layer`);
    outputs = err.values;
    outputShape = err.tensors[0].shape as Array<number | null>;
  }
  if (outputs.length !== 1) throw new TransferkitError(`the ONNX compiler needs a model with one output; ${model.name} has ${outputs.length}`);
  const out = toNhwc(g, outputs[0]);
  const outputName = g.op('Identity', [out.name], {}, 'output');
  g.output(outputName, dims(outputShape));
  return { onnx: g.encode(), inputName: input, outputName, inputShape, outputShape };
}
