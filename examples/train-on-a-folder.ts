// Train a classifier head on a folder of labelled images (one sub-folder per class) with a pretrained zoo base,
// then save it. Usage:
//   node dist/examples/train-on-a-folder.js DATA_DIR OUT_DIR [WEIGHTS.h5]
// WEIGHTS.h5 is Keras's mobilenet_2_5_224_tf_no_top.h5 (MobileNet α=0.25 without its classifier); without it the
// weights come from transferkit's cache (`transferkit weights fetch mobilenet --alpha 0.25 --no-top`).
import { resolveBase, saveModel, trainImageClassifier, trainedModelMetadata } from 'transferkit';

const [data, out, weights] = process.argv.slice(2);
if (!data || !out) {
  console.error('usage: train-on-a-folder DATA_DIR OUT_DIR [WEIGHTS.h5]');
  process.exit(2);
}

// The base as `--base mobilenet --alpha 0.25 --input-size 96` names it: small CIFAR images train better upscaled.
const base = resolveBase({ base: 'mobilenet', alpha: 0.25, weights: weights ?? 'imagenet', inputSize: 96 });
console.log(`base ${base.id}: ${base.inputSize}x${base.inputSize} images, ${base.kind === 'zoo' ? base.preprocessing : 'its own'} preprocessing`);

const options = { ...base.options, epochs: 3, seed: 1 };
const result = await trainImageClassifier(data, options);
await saveModel(result.model, out, trainedModelMetadata(result, options, data));

const accuracy = result.val.accuracy === null ? 'no validation split' : `validation accuracy ${(result.val.accuracy * 100).toFixed(1)}%`;
console.log(`trained ${result.strategy} on ${result.counts.train} images (${result.classNames.join(', ')}): ${accuracy}; saved to ${out}`);
