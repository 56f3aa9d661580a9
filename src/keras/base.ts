// What a foreign Keras model says about its inputs: the recognised keras.applications base inside it (whose
// preprocessing is known), and the image layout its input asks for.
import type * as tfl from '@tensorflow/tfjs-layers';
import { getApplication } from '../applications/index.js';
import type { PreprocessMode } from '../data/preprocess.js';
import { TransferkitError } from '../errors.js';
import { isContainer } from '../model/introspect.js';

/** keras.applications' model names (`mobilenetv2_1.00_224`, `efficientnetb0`, …) → transferkit's family id. */
const KERAS_NAMES: Array<[RegExp, string]> = [
  [/^vgg16$/, 'vgg16'],
  [/^vgg19$/, 'vgg19'],
  [/^resnet50$/, 'resnet50'],
  [/^resnet50v2$/, 'resnet50v2'],
  [/^inception_v3$/, 'inception_v3'],
  [/^xception$/, 'xception'],
  [/^mobilenet_[\d.]+_\d+$/, 'mobilenet'],
  [/^mobilenetv2_[\d.]+_\d+$/, 'mobilenet_v2'],
  [/^efficientnetb0$/, 'efficientnet_b0'],
];

/** The keras.applications family the model is or nests, found by Keras's model names; undefined if none. */
export function recognisedBase(model: tfl.LayersModel): { id: string; preprocessing: PreprocessMode } | undefined {
  const id = KERAS_NAMES.find(([re]) => re.test(model.name))?.[1];
  if (id) return { id, preprocessing: getApplication(id).spec.preprocessing };
  for (const layer of model.layers) {
    if (isContainer(layer)) {
      const found = recognisedBase(layer);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The image the model takes, as [height, width, channels]: channels 1 (grayscale) or 3 (RGB); an input with
 * no channel axis ([batch, H, W]) takes grayscale images fed as H×W.
 */
export function imageInputShape(model: tfl.LayersModel, file: string): [number, number, number] {
  if (model.inputs.length !== 1) throw new TransferkitError(`${file}: the model has ${model.inputs.length} inputs; transferkit feeds one image input`);
  const shape = model.inputs[0].shape.slice(1);
  const [h, w, c] = shape;
  if (shape.some((d) => d === null) || (shape.length !== 2 && shape.length !== 3)) {
    throw new TransferkitError(
      `${file}: input shape [${model.inputs[0].shape.map((d) => d ?? 'None').join(', ')}] is not a fixed-size image (H, W) or (H, W, C)`,
    );
  }
  const channels = shape.length === 2 ? 1 : (c as number);
  if (channels !== 1 && channels !== 3)
    throw new TransferkitError(`${file}: input has ${channels} channels; transferkit feeds grayscale (1) or RGB (3) images`);
  return [h as number, w as number, channels];
}
