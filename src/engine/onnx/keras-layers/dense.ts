// Dense: a GEMM on flat inputs; on the channels of a feature map (ConvNeXt's pointwise layers) a 1×1 convolution
// at inference and a MatMul over the last axis in training.
import { TransferkitError } from '../../../errors.js';
import { activation, trainActivation } from './activations.js';
import { conv } from './conv-infer.js';
import { weightsOf } from './nchw.js';
import type { LayerRule } from './types.js';

export const denseLayers: Record<string, LayerRule> = {
  Dense: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      const ws = weightsOf(layer);
      const bias = c.useBias ? ws.bias.values : undefined;
      if (x.rank === 4) {
        // Dense on the channels of a feature map (ConvNeXt's pointwise layers) is a 1×1 convolution.
        const [ci, co] = ws.kernel.shape;
        const kernel = { values: ws.kernel.values, shape: [1, 1, ci, co] };
        return [activation(g, conv(g, x, layer, { strides: 1, padding: 'valid' }, kernel, false, bias), c.activation as string)];
      }
      if (x.rank !== 2)
        throw new TransferkitError(`the ONNX compiler supports Dense on flat inputs and feature maps only (layer ${layer.name} gets rank ${x.rank})`);
      const inputs = [x.name, g.constant(`${layer.name}_W`, ws.kernel.values, ws.kernel.shape)];
      if (c.useBias) inputs.push(g.constant(`${layer.name}_B`, ws.bias.values, ws.bias.shape));
      return [activation(g, { name: g.op('Gemm', inputs, {}, layer.name), rank: 2 }, c.activation as string)];
    },
    // x @ w (+ b): the product over the last axis, of flat inputs or of every position of a feature map.
    train: ({ e, layer, c, xs: [x] }) => {
      const kernel = e.weight(layer, 0);
      const bias = c.useBias ? e.weight(layer, 1) : undefined;
      const xw = e.g.op('MatMul', [x, kernel], {}, 'dense');
      const z = bias ? e.g.op('Add', [xw, bias], {}, 'dense_bias') : xw;
      return [trainActivation(e, z, c.activation as string)];
    },
  },
};
