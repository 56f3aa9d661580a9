// A training step's forward part alone, for evaluation: ONNX Runtime runs every node of a graph whatever a run
// fetches, so evaluating through the step graph paid for its backward pass and its updates too.
import { prefixGraph } from './cut.js';
import { decodeModel } from './decode.js';
import { encodeModelValue } from './proto.js';
import type { StepGraph } from './step.js';

/** The nodes of `step` that its loss and output need, reading only the batch and the weights they use. */
export function evaluationGraph(step: StepGraph): Uint8Array {
  const model = decodeModel(step.onnx);
  return encodeModelValue({ ...model, graph: prefixGraph(model.graph, [step.loss, step.output]) });
}
