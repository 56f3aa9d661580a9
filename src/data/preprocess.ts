/**
 * How a pretrained base expects its pixels, as in Keras's `imagenet_utils.preprocess_input` modes.
 * - caffe: RGB → BGR, minus the ImageNet channel means (VGG, ResNet v1)
 * - tf: scaled to [-1, 1] (MobileNet, Inception, Xception, ResNet v2)
 * - torch: scaled to [0, 1], then ImageNet mean/std (DenseNet)
 * - none: raw 0–255 pixels; the model rescales inside (EfficientNet)
 */
export type PreprocessMode = 'caffe' | 'tf' | 'torch' | 'none';
