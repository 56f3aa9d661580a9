// Reverse-mode differentiation of ONNX graphs op by op: the rules (rules.ts), shape inference (shapes.ts) and the
// walk that applies them (differentiate.ts).
export { GradError } from './context.js';
export { type DifferentiateOptions, type FusedGradient, differentiate } from './differentiate.js';
export { GRADIENT_RULES, NO_GRADIENT } from './rules.js';
