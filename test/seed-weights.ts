// Seeded weights for tests that build a zoo model with `weights: null`: an unseeded draw makes a comparison
// pass or fail by luck (deep random networks amplify float rounding, and ReLU zeros make max-pooling ties).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * Redraws every kernel (convolutions', depthwise and pointwise ones, Dense's) uniformly with seeds counting up
 * from `seed`, at the spread of the layer's own initial draw (so each family keeps its initialiser's scale); every
 * other weight (biases, normalisation statistics, of any rank) is kept, or zeroed with `zeroVectors`. `glorot`
 * draws kernels from Glorot-uniform instead (fine for VGG; EfficientNet's activations then vanish to 0/0). `he`
 * draws them He-uniform over each output's own inputs (a depthwise kernel's are its window), a spread that does
 * not depend on the layer's unseeded first draw: MobileNetV2's features, 1e-11 with the default draw, stay of order 1.
 */
export function seedWeights(model: tfl.LayersModel, o: { seed?: number; zeroVectors?: boolean; glorot?: boolean; he?: boolean } = {}): void {
  let seed = o.seed ?? 100;
  const layers = (m: tfl.LayersModel): tfl.layers.Layer[] => m.layers.flatMap((l) => (l instanceof tfl.LayersModel ? layers(l) : [l]));
  const redraw = (w: tf.Tensor) =>
    tf.tidy(() => {
      if (o.glorot) return tfl.initializers.glorotUniform({ seed: seed++ }).apply(w.shape);
      const fanIn = w.shape.at(-1) === 1 && w.rank === 4 ? (w.shape[0] as number) * (w.shape[1] as number) : w.size / (w.shape.at(-1) as number);
      const spread = o.he ? Math.sqrt(6 / fanIn) : Math.sqrt(3) * tf.moments(w).variance.dataSync()[0] ** 0.5;
      return tf.randomUniform(w.shape, -spread, spread, 'float32', seed++);
    });
  for (const layer of layers(model)) {
    const weights = layer.getWeights();
    if (!weights.length) continue;
    const kernel = layer.weights.map((w) => /kernel$/.test(w.originalName));
    const drawn = weights.map((w, i) => (kernel[i] ? redraw(w) : o.zeroVectors ? tf.zerosLike(w) : null));
    layer.setWeights(drawn.map((d, i) => d ?? weights[i]));
    // setWeights copies: the draws are freed, so the zoo's large models do not fill the wasm heap.
    for (const d of drawn) d?.dispose();
  }
}
