import { tf } from '../tfjs.js';
import { TransferkitError } from '../errors.js';

/**
 * How a pretrained base expects its pixels, as in Keras's `imagenet_utils.preprocess_input` modes.
 * - caffe: RGB → BGR, minus the ImageNet channel means (VGG, ResNet v1)
 * - tf: scaled to [-1, 1] (MobileNet, Inception, Xception, ResNet v2)
 * - torch: scaled to [0, 1], then ImageNet mean/std
 * - unit: x / 255, to [0, 1] (how most Keras users scale their own models' inputs)
 * - none: raw 0–255 pixels; the model rescales inside (EfficientNet)
 */
export type PreprocessMode = 'caffe' | 'tf' | 'torch' | 'unit' | 'none';
export const PREPROCESS_MODES: readonly PreprocessMode[] = ['caffe', 'tf', 'torch', 'unit', 'none'];

/** Modes that treat every value alike, so they apply to any number of channels (grayscale too). */
export const elementwise = (mode: PreprocessMode) => mode === 'tf' || mode === 'unit' || mode === 'none';

const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];
const TORCH_MEAN = [0.485, 0.456, 0.406];
const TORCH_STD = [0.229, 0.224, 0.225];

/** The same, in place, on a flat channels-last RGB float32 array (the data pipeline's hot path). */
export function preprocessPixels(x: Float32Array, mode: PreprocessMode): Float32Array {
  switch (mode) {
    case 'none':
      return x;
    case 'tf':
      for (let i = 0; i < x.length; i++) x[i] = x[i] / 127.5 - 1;
      return x;
    case 'unit':
      for (let i = 0; i < x.length; i++) x[i] = x[i] / 255;
      return x;
    case 'torch':
      for (let i = 0; i < x.length; i++) x[i] = (x[i] / 255 - TORCH_MEAN[i % 3]) / TORCH_STD[i % 3];
      return x;
    case 'caffe':
      for (let i = 0; i < x.length; i += 3) {
        const r = x[i];
        x[i] = x[i + 2] - CAFFE_MEAN_BGR[0];
        x[i + 1] -= CAFFE_MEAN_BGR[1];
        x[i + 2] = r - CAFFE_MEAN_BGR[2];
      }
      return x;
  }
}

/**
 * Keras's `preprocess_input` for RGB images with values in [0, 255], channels last (…, H, W, 3).
 * Returns a new float32 tensor; the input is left as it is.
 */
export function preprocessInput(x: tf.Tensor, mode: PreprocessMode): tf.Tensor {
  if (!PREPROCESS_MODES.includes(mode)) throw new TransferkitError(`unknown preprocessing mode '${mode}': use one of ${PREPROCESS_MODES.join(', ')}`);
  if (!elementwise(mode) && x.shape[x.rank - 1] !== 3) {
    throw new TransferkitError(`${mode} preprocessing needs 3 channels (RGB) last; got shape [${x.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const f = tf.cast(x, 'float32');
    switch (mode) {
      case 'none':
        return f.clone();
      case 'tf':
        return tf.sub(tf.div(f, 127.5), 1);
      case 'unit':
        return tf.div(f, 255);
      case 'torch':
        return tf.div(tf.sub(tf.div(f, 255), TORCH_MEAN), TORCH_STD);
      case 'caffe':
        return tf.sub(tf.reverse(f, -1), CAFFE_MEAN_BGR);
    }
  });
}
