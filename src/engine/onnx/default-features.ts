// The default feature value of an imported ONNX graph: the pooled output before its classifier.
import { TransferkitError } from '../../errors.js';
import { isInitializer, producers } from './cut.js';
import { inferShapes } from './grad/shapes.js';
import { DataType, type GraphValue, type NodeValue, type TensorValue } from './proto.js';

/** Ops that may follow a classifier's matrix product before the output (a bias Add, softmax, reshapes). */
const AFTER_CLASSIFIER = new Set(['Add', 'Softmax', 'LogSoftmax', 'Sigmoid', 'Identity', 'Flatten', 'Reshape', 'Squeeze', 'Dropout', 'Cast']);

/**
 * The default feature value, by a documented rule: an output named `pooler_output` (Hugging Face exports);
 * else `last_hidden_state`'s first token (the CLS token, appended to the graph as a Gather); else, walking back
 * from the first output through what may follow a classifier (bias, softmax, reshapes), the data input of a
 * Gemm/MatMul whose weight is an initializer (the input of the classifier: the global pool / CLS token before
 * it); else, when no classifier ends the graph (a headless model), a flat (N, D) output itself.
 */
export function defaultFeatures(graph: GraphValue): { graph: GraphValue; value: string; rule: string } {
  const pooled = graph.outputs.find((o) => o.name === 'pooler_output');
  if (pooled) return { graph, value: pooled.name, rule: 'the pooler_output output' };
  const hidden = graph.outputs.find((o) => o.name === 'last_hidden_state');
  if (hidden) {
    const index: TensorValue = { name: 'transferkit_cls_index', dims: [], dataType: DataType.INT64, raw: new Uint8Array(8) };
    const cls: NodeValue = {
      opType: 'Gather',
      name: 'transferkit_cls_token',
      inputs: [hidden.name, index.name],
      outputs: ['cls_token'],
      attributes: { axis: 1 },
    };
    return {
      graph: { ...graph, nodes: [...graph.nodes, cls], initializers: [...graph.initializers, index] },
      value: 'cls_token',
      rule: 'last_hidden_state[:, 0] (the CLS token)',
    };
  }
  const by = producers(graph);
  const init = isInitializer(graph);
  let v: string | undefined = graph.outputs[0]?.name;
  for (let step = 0; v && step < 50; step++) {
    const node = by.get(v);
    if (!node) break;
    if ((node.opType === 'Gemm' || node.opType === 'MatMul') && node.inputs.length >= 2 && init(node.inputs[1]) && !init(node.inputs[0]))
      return { graph, value: node.inputs[0], rule: `the input of the classifier (${node.opType} ${node.name || node.outputs[0]})` };
    // Anything else (a residual Add, a LayerNorm) is the body: no classifier follows it.
    if (!AFTER_CLASSIFIER.has(node.opType) || (node.opType === 'Add' && !node.inputs.some(init))) break;
    v = node.inputs.find((i) => i && !init(i));
  }
  const output = graph.outputs[0];
  const rank = output && (output.dims ?? inferShapes(graph).get(output.name)?.dims)?.length;
  if (rank === 2) return { graph, value: output.name, rule: `the graph's output ${output.name} itself (no classifier ends the graph: a headless model)` };
  throw new TransferkitError(
    `found no features: no pooler_output or last_hidden_state output, no Gemm/MatMul classifier at the end, and the output ${output?.name ?? ''} is not flat (N, D); choose the feature value with --features-from NAME (see transferkit layers MODEL.onnx)`,
  );
}
