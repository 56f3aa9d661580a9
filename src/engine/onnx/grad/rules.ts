// One gradient rule per ONNX op type (the design of ONNX Runtime's training gradient builder), and the ops whose
// outputs carry no gradient (shapes, constants, comparisons, indices).
import type { NodeValue } from '../proto.js';
import type { GradRule } from './context.js';
import { convRules } from './conv.js';
import { einsumRules } from './einsum.js';
import { elementwiseRules } from './elementwise.js';
import { matmulRules } from './matmul.js';
import { normRules } from './norm.js';
import { poolRules } from './pool.js';
import { reduceRules } from './reduce.js';
import { resizeRules } from './resize.js';
import { shapeRules } from './shape-ops.js';
import { BOOLEAN } from './shapes-elementwise.js';

export const GRADIENT_RULES: Readonly<Record<string, GradRule>> = {
  ...elementwiseRules,
  ...matmulRules,
  ...convRules,
  ...poolRules,
  ...normRules,
  ...reduceRules,
  ...shapeRules,
  ...resizeRules,
  ...einsumRules,
};

/** Ops whose outputs are constant with respect to their inputs almost everywhere: no gradient flows through. */
export const NO_GRADIENT = new Set([
  ...BOOLEAN,
  'Shape',
  'Size',
  'Constant',
  'ConstantOfShape',
  'Xor',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'Range',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'IsInf',
  'EyeLike',
  'RandomNormal',
  'RandomNormalLike',
  'RandomUniform',
  'RandomUniformLike',
]);

/**
 * Float inputs that get no gradient: BatchNormalization's running statistics (fine-tuning keeps them frozen and
 * trains scale and bias, as PyTorch does with BatchNorm in eval mode and Keras with its moving statistics), Clip's
 * bounds, Pad's fill value, Resize's roi and scales, Dropout's ratio.
 */
const FROZEN_INPUTS: Readonly<Record<string, number[]>> = { BatchNormalization: [3, 4], Clip: [1, 2], Pad: [2], Resize: [1, 2], Dropout: [1] };

/**
 * The values `outputs` depend on through gradients (nodes in topological order): where trainable weights can be;
 * `reads(node)` gives the inputs a node passes gradients to. GroupNorm exports (Reshape → InstanceNormalization →
 * Reshape, then the affine Mul/Add) give the InstanceNormalization a unit scale and zero bias of the exporter's
 * own, which are not the module's weights.
 */
export function gradientReads(nodes: NodeValue[], outputs: string[]): { values: Set<string>; reads(node: NodeValue): Set<number> } {
  const producer = new Map(nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const readers = new Map<string, NodeValue[]>();
  for (const n of nodes) for (const v of n.inputs) readers.set(v, [...(readers.get(v) ?? []), n]);
  const groupNorm = (n: NodeValue) =>
    n.opType === 'InstanceNormalization' &&
    producer.get(n.inputs[0])?.opType === 'Reshape' &&
    (readers.get(n.outputs[0]) ?? []).every((r) => r.opType === 'Reshape');
  const values = new Set(outputs);
  const reads = new Map<NodeValue, Set<number>>();
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    if (NO_GRADIENT.has(n.opType) || !n.outputs.some((o) => values.has(o))) continue;
    const frozen = groupNorm(n) ? [1, 2] : (FROZEN_INPUTS[n.opType] ?? []);
    const live = new Set(n.inputs.flatMap((v, i) => (v && !frozen.includes(i) ? [i] : [])));
    for (const i of live) values.add(n.inputs[i]);
    reads.set(n, live);
  }
  return { values, reads: (n) => reads.get(n) ?? new Set() };
}
