// Seeded weights for tests that build a zoo model with `weights: null`: an unseeded draw makes a comparison
// pass or fail by luck (deep random networks amplify float rounding, and ReLU zeros make max-pooling ties).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * Redraws every kernel (weights of rank 2 or more) from Glorot-uniform with seeds counting up from `seed`;
 * vectors (biases, normalisation statistics) are kept, or zeroed with `zeroVectors`.
 */
export function seedWeights(model: tfl.LayersModel, o: { seed?: number; zeroVectors?: boolean } = {}): void {
  let seed = o.seed ?? 100;
  const layers = (m: tfl.LayersModel): tfl.layers.Layer[] => m.layers.flatMap((l) => (l instanceof tfl.LayersModel ? layers(l) : [l]));
  for (const layer of layers(model)) {
    const weights = layer.getWeights();
    if (!weights.length) continue;
    layer.setWeights(weights.map((w) => (w.rank > 1 ? tfl.initializers.glorotUniform({ seed: seed++ }).apply(w.shape) : o.zeroVectors ? tf.zerosLike(w) : w)));
  }
}
