// One gradient rule per ONNX op type (the design of ONNX Runtime's training gradient builder), and the ops whose
// outputs carry no gradient (shapes, constants, comparisons, indices).
import type { GradRule } from './context.js';
import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { matmulRules } from './matmul.js';
import { normRules } from './norm.js';
import { poolRules } from './pool.js';
import { reduceRules } from './reduce.js';
import { shapeRules } from './shape-ops.js';
import { BOOLEAN } from './shapes.js';

export const GRADIENT_RULES: Readonly<Record<string, GradRule>> = {
  ...elementwiseRules,
  ...matmulRules,
  ...convRules,
  ...poolRules,
  ...normRules,
  ...reduceRules,
  ...shapeRules,
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
