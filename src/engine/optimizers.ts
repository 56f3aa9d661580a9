// Keras 3's optimizer updates, written once over an arithmetic that is either ONNX graph nodes (compiled
// training steps) or tfjs tensors (the wasm fallback), so both engines take the same step.

export type OptimizerSpec =
  | { name: 'sgd'; momentum?: number }
  | { name: 'adam'; beta1?: number; beta2?: number; epsilon?: number }
  | { name: 'rmsprop'; rho?: number; epsilon?: number };

export interface Arith<T> {
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  sqrt(a: T): T;
  scalar(name: string, value: number): T;
}

/** The per-weight state an optimizer keeps, by name (each the weight's shape, zero at first). */
export function slotNames(opt: OptimizerSpec): string[] {
  if (opt.name === 'sgd') return opt.momentum ? ['momentum'] : [];
  return opt.name === 'adam' ? ['m', 'v'] : ['velocity'];
}

/** Keras's Adam folds its bias correction into the step size: the rate to feed for step number `t` (from 1). */
export function stepSize(opt: OptimizerSpec, lr: number, t: number): number {
  if (opt.name !== 'adam') return lr;
  return (lr * Math.sqrt(1 - (opt.beta2 ?? 0.999) ** t)) / (1 - (opt.beta1 ?? 0.9) ** t);
}

/**
 * One update of weight `w` with gradient `g` at rate `lr`: the new weight and new slots (in `slotNames` order).
 * With `l2` (Keras's `kernel_regularizer=l2(l2)`: l2·Σw² added to the loss) the gradient gains 2·l2·w first.
 */
export function applyUpdate<T>(o: Arith<T>, opt: OptimizerSpec, w: T, grad: T, lr: T, slots: T[], l2 = 0): { w: T; slots: T[] } {
  const c = o.scalar;
  const g = l2 > 0 ? o.add(grad, o.mul(w, c('l2_2', 2 * l2))) : grad;
  switch (opt.name) {
    case 'sgd': {
      const step = o.mul(g, lr);
      if (!opt.momentum) return { w: o.sub(w, step), slots: [] };
      const v = o.sub(o.mul(slots[0], c('momentum', opt.momentum)), step);
      return { w: o.add(w, v), slots: [v] };
    }
    case 'adam': {
      const [b1, b2, eps] = [opt.beta1 ?? 0.9, opt.beta2 ?? 0.999, opt.epsilon ?? 1e-7];
      const m = o.add(o.mul(slots[0], c('b1', b1)), o.mul(g, c('1-b1', 1 - b1)));
      const v = o.add(o.mul(slots[1], c('b2', b2)), o.mul(o.mul(g, g), c('1-b2', 1 - b2)));
      return { w: o.sub(w, o.mul(lr, o.div(m, o.add(o.sqrt(v), c('eps', eps))))), slots: [m, v] };
    }
    case 'rmsprop': {
      const [rho, eps] = [opt.rho ?? 0.9, opt.epsilon ?? 1e-7];
      const v = o.add(o.mul(slots[0], c('rho', rho)), o.mul(o.mul(g, g), c('1-rho', 1 - rho)));
      return { w: o.sub(w, o.div(o.mul(lr, g), o.sqrt(o.add(v, c('eps', eps))))), slots: [v] };
    }
  }
}

/** The optimizer a training run names: Adam (default), SGD with momentum 0.9, or RMSprop. */
export const optimizerSpec = (name: 'adam' | 'sgd' | 'rmsprop' | undefined): OptimizerSpec =>
  name === 'sgd' ? { name: 'sgd', momentum: 0.9 } : name === 'rmsprop' ? { name: 'rmsprop' } : { name: 'adam' };
/** Whether weight `index` of a layer is what an L2 kernel penalty applies to: a Dense layer's kernel. */
export const isDenseKernel = (layer: { getClassName(): string }, index: number): boolean => layer.getClassName() === 'Dense' && index === 0;
