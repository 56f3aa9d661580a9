// tfjs's average-pooling gradient with 'same' padding divides every window by its full size, while its forward pass
// (like TF's) divides border windows by the cells they cover; so autograd is wrong at the borders. The tests that
// compare against autograd use this corrected gradient for the case NASNet and Inception use (odd square window,
// stride 1), checked against finite differences in test/op-grads.
import * as tf from '@tensorflow/tfjs-core';

/** How many input cells each output cell's k×k window covers at stride 1, 'same' padding: [1, H, W, 1]. */
function coverage(h: number, w: number, k: number): tf.Tensor4D {
  const p = (k - 1) / 2;
  const span = (i: number, n: number) => Math.min(i + p, n - 1) - Math.max(i - p, 0) + 1;
  const counts = new Float32Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) counts[i * w + j] = span(i, h) * span(j, w);
  return tf.tensor4d(counts, [1, h, w, 1]);
}

let registered = false;

/**
 * Registers the corrected gradient: y = S(x)/n with S the window sum and n the coverage, so dx = Sᵀ(dy/n), and
 * Sᵀ = S for an odd window at stride 1 (symmetric padding); S(z) = avgPool(z)·n. Other poolings keep tfjs's own.
 */
export function fixSameAvgPoolGradient(): void {
  if (registered) return;
  registered = true;
  const original = tf.getGradient('AvgPool');
  tf.registerGradient({
    kernelName: 'AvgPool',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const { filterSize, strides, pad } = attrs as unknown as { filterSize: number | number[]; strides: number | number[]; pad: string | number };
      const [kh, kw] = ([] as number[]).concat(filterSize, filterSize);
      const [sh, sw] = ([] as number[]).concat(strides, strides);
      if (pad !== 'same' || sh !== 1 || sw !== 1 || kh !== kw || kh % 2 === 0) return original.gradFunc(dy, saved, attrs);
      const g = dy as tf.Tensor4D;
      const [, h, w] = g.shape;
      return {
        x: () =>
          tf.tidy(() => {
            const n = coverage(h, w, kh);
            return tf.mul(tf.avgPool(tf.div(g, n) as tf.Tensor4D, kh, 1, 'same'), n);
          }),
      };
    },
  });
}
