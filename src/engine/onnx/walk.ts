import { tfl } from '../../tfjs.js';
import { TransferkitError } from '../../errors.js';

type Node = { inputTensors: tfl.SymbolicTensor[]; outputTensors: tfl.SymbolicTensor[] };

/** The functional graph of a container: a Sequential keeps one inside (its `model`). */
function functionalOf(container: tfl.LayersModel): tfl.LayersModel {
  if (container.getClassName() !== 'Sequential') return container;
  const seq = container as unknown as { model?: tfl.LayersModel; build(): void };
  if (!seq.model) seq.build();
  return seq.model as tfl.LayersModel;
}

/** The node through which `layer` takes part in `container`'s graph. */
function nodeIn(container: tfl.LayersModel, layer: tfl.layers.Layer): Node {
  const keys = (container as unknown as { containerNodes: Set<string> }).containerNodes;
  const nodes = layer.inboundNodes as unknown as Node[];
  const i = nodes.findIndex((_, k) => keys.has(`${layer.name}_ib-${k}`));
  if (i < 0) throw new TransferkitError(`internal: layer ${layer.name} has no node in ${container.name}`);
  return nodes[i];
}

/** What a visitor learns about a layer besides its input values: the symbolic tensors, with their shapes. */
export interface LayerCall {
  inputs: tfl.SymbolicTensor[];
  outputs: tfl.SymbolicTensor[];
}

/**
 * Walks every leaf layer of a model in topological order, nested models opened, threading values of any kind
 * (graph value names, …) from `feeds` (one per model input) through `visit`; returns the model's outputs.
 */
export function walkModel<V>(model: tfl.LayersModel, feeds: V[], visit: (layer: tfl.layers.Layer, inputs: V[], call: LayerCall) => V[]): V[] {
  const container = functionalOf(model);
  const values = new Map<number, V>();
  container.inputs.forEach((t, i) => values.set(t.id, feeds[i]));
  const get = (t: tfl.SymbolicTensor) => {
    if (!values.has(t.id)) throw new TransferkitError(`internal: tensor ${t.name} used before it is computed`);
    return values.get(t.id) as V;
  };
  for (const layer of container.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const node = nodeIn(container, layer);
    const inputs = node.inputTensors.map(get);
    const outputs =
      layer instanceof tfl.LayersModel ? walkModel(layer, inputs, visit) : visit(layer, inputs, { inputs: node.inputTensors, outputs: node.outputTensors });
    node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]));
  }
  return container.outputs.map(get);
}

/**
 * Whether training can start at layer `from` on its cached input: every layer after it reads only that input and
 * values computed from it, no skip connection crosses. NASNet's cells read the two cells before them, so no cell
 * boundary is such a cut. An unknown name answers true (the trainer names it in its error).
 */
export function isSingleValueCut(model: tfl.LayersModel, from: string): boolean {
  let cut: number | undefined;
  let single = true;
  walkModel<null>(model, [null], (layer, _inputs, call) => {
    if (layer.name === from) {
      if (call.inputs.length !== 1) single = false;
      cut = call.inputs[0]?.id;
    }
    return call.outputs.map(() => null);
  });
  if (!single) return false;
  if (cut === undefined) return true;
  let crossed = false;
  walkModel<boolean>(model, [false], (_layer, inputs, call) => {
    const after = inputs.map((v, i) => v || call.inputs[i].id === cut);
    if (after.some((a) => a) && after.some((a) => !a)) crossed = true;
    return call.outputs.map(() => after.some((a) => a));
  });
  return !crossed;
}
