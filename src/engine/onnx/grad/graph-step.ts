// A training step over any forward ONNX graph (compiled here or read from a file): its trainable initializers
// become inputs, the loss and optimizer update are those of Keras models' steps, and the gradients come from
// the per-op rules.
import { TransferkitError } from '../../../errors.js';
import type { OptimizerSpec } from '../../optimizers.js';
import { emitFoldedMomentum } from '../fold-momentum.js';
import { GraphBuilder } from '../graph.js';
import type { Dim, GraphValue } from '../proto.js';
import { type LossName, type StepGraph, type StepWeight, emitLoss, emitStepOutputs, emitUpdate } from '../step.js';
import { GradError } from './context.js';
import { denseDepthwise } from './dense-depthwise.js';
import { differentiate } from './differentiate.js';
import { Elem, attr } from './dims.js';
import { pushPools } from './pool-push.js';
import { pruneTokens } from './prune-tokens.js';
import { inferShapes } from './shapes.js';

export interface GraphStepOptions {
  /** The forward graph's input fed with examples (its first dim the batch). */
  input: string;
  /** The value the loss compares with the targets. */
  output: string;
  /** Names of the float initializers to train; every other initializer stays a constant. */
  trainable: string[];
  loss: LossName;
  optimizer: OptimizerSpec;
  /** Adds a per-example weight input: the loss is Σ wᵢ·lossᵢ / n. */
  weighted?: boolean;
  /** A weight's rate as a fraction of the fed one (discriminative rates); default 1. */
  lrScale?: (weight: string) => number;
  /** Default opset 17; graphs using newer ops (Gelu: 20) need theirs. */
  opset?: number;
  /**
   * Compute only the positions the output reads (a ViT's class token in its last block; see prune-tokens.ts);
   * default true. False keeps every token: the reference the tests compare the pruned step with.
   */
  pruneTokens?: boolean;
  /**
   * Move a global average pool up through the linear ops before it (ConvNeXt's last pointwise Dense on one row
   * per image; see pool-push.ts); default true. False: the reference the tests compare the rewritten step with.
   */
  pushPools?: boolean;
}

export interface GraphStepWeight extends StepWeight {
  /** The initializer's name in the forward graph. */
  name: string;
  /** Its value there: the weights to feed to the first step. */
  initial: Float32Array;
}

export interface GraphTrainStep extends StepGraph {
  params: GraphStepWeight[];
}

const withoutBatch = (dims: Dim[] | undefined, what: string): number[] => {
  if (!dims) throw new TransferkitError(`${what} has no declared shape: give the graph's input its dims`);
  const rest = dims.slice(1);
  if (rest.some((d) => typeof d !== 'number'))
    throw new TransferkitError(`${what} has dims ${JSON.stringify(dims)}: only the first (the batch) may be symbolic`);
  return rest as number[];
};

export function compileGraphTrainStep(forward: GraphValue, options: GraphStepOptions): GraphTrainStep {
  const byName = new Map(forward.initializers.map((t) => [t.name, t]));
  const trainable = new Set(options.trainable);
  for (const name of trainable) {
    const t = byName.get(name);
    if (!t) throw new TransferkitError(`'${name}' is not an initializer of ${forward.name}`);
    if (t.dataType !== Elem.FLOAT) throw new TransferkitError(`initializer '${name}' is not float32 and cannot be trained`);
  }
  const xInfo = forward.inputs.find((i) => i.name === options.input);
  if (!xInfo) throw new TransferkitError(`${forward.name} has no input '${options.input}' (inputs: ${forward.inputs.map((i) => i.name).join(', ')})`);
  const others = forward.inputs.filter((i) => i.name !== options.input);
  if (others.length)
    throw new TransferkitError(
      `${forward.name} has other inputs besides '${options.input}' (${others.map((i) => i.name).join(', ')}): fix them as initializers first`,
    );

  // The trained initializers become inputs under their own names.
  const asGiven: GraphValue = {
    ...forward,
    initializers: forward.initializers.filter((t) => !trainable.has(t.name)),
    inputs: [...forward.inputs, ...options.trainable.map((name) => ({ name, dims: (byName.get(name) as { dims: number[] }).dims }))],
  };
  const given = inferShapes(asGiven);
  const dense = denseDepthwise(asGiven, given);
  const denseFacts = dense === asGiven ? given : inferShapes(dense);
  const graph = options.pruneTokens === false ? dense : pruneTokens(dense, denseFacts, options.opset ?? 17, [options.output]);
  const pruned = graph === dense ? denseFacts : inferShapes(graph);
  const outDims = pruned.get(options.output)?.dims;
  if (!outDims) throw new TransferkitError(`the shape of '${options.output}' could not be inferred from ${forward.name}`);
  const inputShape = withoutBatch(xInfo.dims, `input '${options.input}'`);
  const outputShape = withoutBatch(outDims, `output '${options.output}'`);

  const g = new GraphBuilder(`${forward.name}_train_step`);
  g.adopt(graph);
  const pooled = options.pushPools !== false && pushPools(g, options.opset ?? 17, [options.output], pruned);
  const stepForward = pooled ? { ...g.graph(), nodes: [...g.graph().nodes] } : graph;
  const facts = pooled ? inferShapes(stepForward) : pruned;
  const lr = g.input('lr', []);
  const y = g.input('y', [outDims[0], ...outputShape]);
  const sampleWeight = options.weighted ? g.input('sample_weight', [outDims[0]]) : undefined;
  const { loss, seedValue, seed } = emitLoss(g, options.loss, options.output, y, fusedActivation(graph, options.output, outDims.length), sampleWeight);
  let grads: Map<string, string>;
  try {
    grads = differentiate(g, stepForward, { loss: { value: seedValue, seed }, wrt: options.trainable, facts });
  } catch (err) {
    if (err instanceof GradError) throw new TransferkitError(`cannot train ${forward.name}: ${err.message}`);
    throw err;
  }
  const params: GraphStepWeight[] = options.trainable.map((name) => {
    const t = byName.get(name) as { dims: number[]; raw: Uint8Array };
    const grad = grads.get(name);
    if (!grad) throw new TransferkitError(`the loss does not depend on '${name}': leave it out of the trainable weights`);
    const p: GraphStepWeight = { name, input: name, output: '', shape: t.dims, slots: [], initial: new Float32Array(new Uint8Array(t.raw).buffer) };
    const scale = options.lrScale?.(name) ?? 1;
    const rate = scale === 1 ? lr : g.op('Mul', [lr, g.constant('lr_scale', [scale], [])]);
    // SGD momentum folded into the weight gradient's Gemm where it is one (Linear/MatMul weights): as Keras steps do.
    if (!emitFoldedMomentum(g, p, grad, rate, options.optimizer)) emitUpdate(g, p, grad, rate, options.optimizer);
    return p;
  });
  const output = emitStepOutputs(g, loss, options.output, outDims, params);
  return {
    onnx: g.encode(options.opset),
    x: options.input,
    y,
    lr,
    ...(sampleWeight ? { sampleWeight } : {}),
    inputShape,
    outputShape,
    params,
    loss,
    output,
  };
}

/** A sigmoid or last-axis softmax producing `output`: its input is the logits the fused losses differentiate. */
function fusedActivation(graph: GraphValue, output: string, rank: number): { logits: string; activation: string } | undefined {
  const node = graph.nodes.find((n) => n.outputs[0] === output);
  if (node?.opType === 'Sigmoid') return { logits: node.inputs[0], activation: 'sigmoid' };
  if (node?.opType === 'Softmax' && [-1, rank - 1].includes(attr(node, 'axis', -1))) return { logits: node.inputs[0], activation: 'softmax' };
  return undefined;
}
