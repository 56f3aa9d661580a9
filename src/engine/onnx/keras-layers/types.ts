// What a Keras layer's rule sees. One rule per layer class (the design of grad/'s one rule per ONNX op): its
// inference emission (NCHW values, weights as constants) and, where the class trains, its training emission
// (NHWC values, trainable weights as graph inputs, a fused backward on the tape where that beats the per-op rules).
// The two layouts are why a class has two emissions: ORT's convolutions are fastest on NCHW constants, while the
// training step's im2col convolutions take their weights as inputs, channels last.
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TransferkitError } from '../../../errors.js';
import type { GraphBuilder } from '../graph.js';
import type { Tape } from './tape.js';

/** A value in the inference graph: its name and rank (rank-4 values are NCHW). */
export interface Value {
  name: string;
  rank: number;
}

export type Config = Record<string, unknown>;

/** One layer call of the inference compiler. */
export interface InferCall {
  g: GraphBuilder;
  layer: tfl.layers.Layer;
  c: Config;
  inputs: Value[];
  /** Whether wide 3×3 convolutions run as Winograd's F(4×4, 3×3) (CompileOptions.winograd). */
  winograd: boolean;
  /** The batch the graph is compiled for (CompileOptions.batchSize). */
  batchSize: number;
}

/** The training graph a trained layer is emitted into. */
export interface TrainGraph {
  g: GraphBuilder;
  t: Tape;
  /** A weight as a graph input (trainable) or a constant. */
  weight(layer: tfl.layers.Layer, index: number): string;
  /** A dropout mask fed per step, one per example of `shape`. */
  mask(layer: tfl.layers.Layer, shape: number[], rate: number): string;
  /** Pre-activation values of sigmoid/softmax outputs, for the fused losses. */
  logits: Map<string, { logits: string; activation: string }>;
}

/** One layer call of the training compiler: NHWC values and their shapes (without the batch). */
export interface TrainCall {
  e: TrainGraph;
  layer: tfl.layers.Layer;
  c: Config;
  xs: string[];
  shapes: number[][];
  /** The build-time refusal of a configuration this class cannot train with. */
  unsupported(why: string): TransferkitError;
}

export interface LayerRule {
  infer(call: InferCall): Value[];
  /** Absent where the class does not train: the training compiler refuses it at build time, saying `refuse`. */
  train?(call: TrainCall): string[];
  /** Whether `train` takes channels-first inputs (channels-first.ts) as they are; other rules get them channels last. */
  channelsFirst?: boolean;
  refuse?: string;
}
