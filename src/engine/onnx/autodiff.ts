// Reverse-mode differentiation over the ONNX graph being built: every primitive emits its forward nodes and
// registers how to emit its backward nodes; `backward` then walks the tape in reverse.
import type { GraphBuilder } from './graph.js';

export class Tape {
  private readonly grads = new Map<string, string>();
  private readonly steps: Array<() => void> = [];

  constructor(readonly g: GraphBuilder) {}

  /** The accumulated gradient of `value`, if anything downstream needs it. */
  grad(value: string): string | undefined {
    return this.grads.get(value);
  }

  /** Adds `grad` to the gradient of `value` (values used twice sum their gradients). */
  accumulate(value: string, grad: string): void {
    const prev = this.grads.get(value);
    this.grads.set(value, prev ? this.g.op('Add', [prev, grad], {}, 'grad_sum') : grad);
  }

  record(step: () => void): void {
    this.steps.push(step);
  }

  /** Seeds d(loss)/d(value) and emits every backward step, last first. */
  backward(value: string, seed: string): void {
    this.accumulate(value, seed);
    for (let i = this.steps.length - 1; i >= 0; i--) this.steps[i]();
  }
}

/** x @ w (+ b): a Dense layer's product on flat inputs. Gradients: dx = dy wᵀ, dw = xᵀ dy, db = Σ dy. */
export function dense(t: Tape, x: string, w: string, b: string | undefined, needsInputGrad: boolean): string {
  const { g } = t;
  const xw = g.op('MatMul', [x, w], {}, 'dense');
  const y = b ? g.op('Add', [xw, b], {}, 'dense_bias') : xw;
  t.record(() => {
    const dy = t.grad(y);
    if (!dy) return;
    t.accumulate(w, g.op('Gemm', [x, dy], { transA: 1 }, 'dW'));
    if (b) t.accumulate(b, g.op('ReduceSum', [dy, g.ints('axis0', [0])], { keepdims: 0 }, 'db'));
    if (needsInputGrad) t.accumulate(x, g.op('Gemm', [dy, w], { transB: 1 }, 'dX'));
  });
  return y;
}

/** Elementwise activations with their derivatives written in terms of the output where that is cheaper. */
export function activate(t: Tape, x: string, name: string): string {
  const { g } = t;
  switch (name) {
    case 'linear':
      return x;
    case 'relu': {
      const y = g.op('Relu', [x]);
      t.record(() => {
        const dy = t.grad(y);
        if (dy) t.accumulate(x, g.op('Where', [g.op('Greater', [x, g.constant('zero', [0], [])]), dy, g.constant('zero', [0], [])], {}, 'drelu'));
      });
      return y;
    }
    case 'sigmoid': {
      const y = g.op('Sigmoid', [x]);
      t.record(() => {
        const dy = t.grad(y);
        if (dy) t.accumulate(x, g.op('Mul', [dy, g.op('Mul', [y, g.op('Sub', [g.constant('one', [1], []), y])])], {}, 'dsigmoid'));
      });
      return y;
    }
    case 'tanh': {
      const y = g.op('Tanh', [x]);
      t.record(() => {
        const dy = t.grad(y);
        if (dy) t.accumulate(x, g.op('Mul', [dy, g.op('Sub', [g.constant('one', [1], []), g.op('Mul', [y, y])])], {}, 'dtanh'));
      });
      return y;
    }
    case 'softmax': {
      const y = g.op('Softmax', [x], { axis: -1 });
      t.record(() => {
        const dy = t.grad(y);
        if (!dy) return;
        // dx = y * (dy - Σ dy·y)
        const dot = g.op('ReduceSum', [g.op('Mul', [dy, y]), g.ints('axis_last', [-1])], { keepdims: 1 });
        t.accumulate(x, g.op('Mul', [y, g.op('Sub', [dy, dot])], {}, 'dsoftmax'));
      });
      return y;
    }
    default:
      throw new Error(`no gradient for activation '${name}' in the training compiler yet`);
  }
}

/** x * mask, the mask fed per step (dropout: 0 or 1/(1-rate)). */
export function maskMul(t: Tape, x: string, mask: string): string {
  const { g } = t;
  const y = g.op('Mul', [x, mask], {}, 'dropout');
  t.record(() => {
    const dy = t.grad(y);
    if (dy) t.accumulate(x, g.op('Mul', [dy, mask], {}, 'ddropout'));
  });
  return y;
}

/** Reshape to [N, -1] (Keras Flatten on channels-last data); the gradient reshapes back. */
export function flatten(t: Tape, x: string): string {
  const { g } = t;
  const y = g.op('Flatten', [x], { axis: 1 });
  t.record(() => {
    const dy = t.grad(y);
    if (dy) t.accumulate(x, g.op('Reshape', [dy, g.op('Shape', [x])], {}, 'dflatten'));
  });
  return y;
}
