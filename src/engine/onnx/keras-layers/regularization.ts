// Layers that only act in training: dropout as a mask fed per step (0 or 1/(1 − rate)); the noise layers pass
// values through at inference and are refused for training, whose graph draws no noise.
import type { LayerRule, TrainCall } from './types.js';

const identity: LayerRule['infer'] = ({ inputs: [x] }) => [x];

/** x · mask, one mask of `maskShape` per example. */
const masked = ({ e, layer, c, xs: [x] }: TrainCall, maskShape: number[]) => [e.g.op('Mul', [x, e.mask(layer, maskShape, c.rate as number)], {}, 'dropout')];

const noise: LayerRule = { infer: identity, refuse: 'its training-time noise is not drawn by the training graph (use the feature-extraction strategy)' };

export const regularizationLayers: Record<string, LayerRule> = {
  Dropout: {
    infer: identity,
    train: (call) => {
      const shape = call.shapes[0];
      const noiseShape = call.c.noiseShape as Array<number | null> | null | undefined;
      return masked(call, noiseShape ? noiseShape.slice(1).map((d, i) => d ?? shape[i]) : shape);
    },
  },
  // One mask value per channel of a sequence: [1, C] per example.
  SpatialDropout1D: { infer: identity, train: (call) => masked(call, [1, call.shapes[0][1]]) },
  GaussianNoise: noise,
  GaussianDropout: noise,
  AlphaDropout: noise,
};
