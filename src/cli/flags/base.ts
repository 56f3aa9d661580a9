// The flags of the commands that run a pretrained base over images (train, extract, compare, lr-find, …).
import { UsageError } from '../../errors.js';
import { type Flag, int, text, withHelp } from '../flag.js';
import { alpha as modelAlpha, weights as modelWeights } from './model.js';

type Rgb = [number, number, number];

function rgb<const N extends string>(name: N, help: string): Flag<N, Rgb> {
  const parse = (raw: string): Rgb => {
    const [r, g, b, ...more] = raw.split(',').map(Number);
    const v = [r, g, b];
    if (more.length || v.some((x) => !Number.isFinite(x)) || (name === 'std' && v.some((x) => x <= 0)))
      throw new UsageError(`--${name} must be three numbers R,G,B${name === 'std' ? ' above 0' : ''}, e.g. 0.5,0.5,0.5; got '${raw}'`);
    return [r, g, b];
  };
  return { name, type: 'string', arg: 'R,G,B', help, parse };
}

export const base = text(
  'base',
  'MODEL',
  `pretrained base: a zoo model (vgg16, resnet50, mobilenet, …; see transferkit layers
MODEL), an ONNX backbone from the registry (vit_b16, dinov2_s, convnext_t, …; see
transferkit weights list), a model.onnx, or a Transformers.js folder (onnx/model.onnx
beside preprocessor_config.json and config.json)`,
  { sets: 'base' },
);
export const alpha = withHelp(modelAlpha, 'MobileNet / MobileNetV2 / MobileNetV3 width');
export const weights = withHelp(modelWeights, 'weights of the base (default imagenet)');
export const inputSize = int('input-size', 'N', "images resized to N×N (default: the base's size; small images work better upscaled)", { sets: 'inputSize' });
export const batchSize = int('batch-size', 'N', 'images per step (default 32; extract runs 64 at a time)', { sets: 'batchSize' });
export const featuresFrom = text(
  'features-from',
  'NAME',
  `ONNX bases: the node or value whose output is the features (default: pooler_output,
else last_hidden_state's CLS token, else the input of the last Gemm/MatMul classifier)`,
);
// --std is documented on --mean's line.
export const mean = {
  ...rgb(
    'mean',
    `ONNX bases: normalisation after x·rescale (default: preprocessor_config.json's
image_mean/image_std, else ImageNet's)`,
  ),
  arg: 'R,G,B / --std R,G,B',
};
export const std = rgb('std', '');

export const IMAGE_BASE = [base, alpha, weights, inputSize, batchSize, featuresFrom, mean, std] as const;
