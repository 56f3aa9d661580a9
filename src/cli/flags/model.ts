// The flags that build a zoo model as Keras's applications do (summary, layers, compare-params), and its head.
import type { InputShape } from '../../applications/index.js';
import { UsageError } from '../../errors.js';
import { choice, int, num, parsed, text, toggle } from '../flag.js';

const noneIsNull = (v: string) => (v.toLowerCase() === 'none' || v.toLowerCase() === 'null' ? null : v);

function parseInputShape(raw: string): InputShape {
  const parts = raw.split(',').map((s) => s.trim());
  const dims = parts.map((p) => (p.toLowerCase() === 'none' ? null : Number(p)));
  if (dims.length !== 3 || dims.some((d) => d !== null && !(Number.isInteger(d) && d > 0)) || dims[2] === null) {
    throw new UsageError(`--input-shape must be H,W,C with positive integers, e.g. 32,32,3; got '${raw}'`);
  }
  return [dims[0], dims[1], dims[2]];
}

/** The width multiplier of MobileNet (V1–V3); applies to those only. */
export const alpha = num('alpha', 'A', 'MobileNet / MobileNetV2 / MobileNetV3 width multiplier (default 1.0)', (n) => n > 0, 'a positive number', {
  sets: 'alpha',
});

/** Weights of a zoo model: a name, none or a file; none (or null) is null. */
export const weights = parsed('weights', 'imagenet|none|FILE', 'pretrained weights (default: none, random initialisation)', noneIsNull);

export const noTop = toggle('no-top', "leave out the ImageNet classifier (Keras's include_top=False)");
export const pooling = choice('pooling', ['avg', 'max'], 'avg|max', 'global pooling of the features when --no-top', { sets: 'pooling' });

export const MODEL = [
  weights,
  noTop,
  parsed('input-shape', 'H,W,C', "input size, e.g. 32,32,3 (default: the model's own, 224,224,3 for VGG)", parseInputShape),
  pooling,
  int('classes', 'N', 'classes of the top classifier (default 1000)'),
  parsed('classifier-activation', 'NAME', "activation of the top classifier (default softmax; 'none' for logits)", noneIsNull),
  alpha,
] as const;

export const head = text('head', 'SPEC', "add a head, e.g. 'flatten, dense:256:relu, dense:1:sigmoid'", { sets: 'head' });
export const unfreezeFrom = text('unfreeze-from', 'LAYER', 'freeze the base up to LAYER, train LAYER and after (fine-tuning)', { sets: 'unfreezeFrom' });

/** Flags that put a head on the base and set what trains. */
export const HEAD = [head, toggle('freeze-base', 'freeze the pretrained base (feature extraction)'), unfreezeFrom] as const;

/** The Options heading of the commands that build a zoo model, its flags aligned at column 33. */
export const MODEL_OPTIONS = ['Options:', 33, ...MODEL] as const;
