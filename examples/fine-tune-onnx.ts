// Fine-tune an ONNX backbone on a folder of labelled images: the head trains on the frozen backbone's features,
// then the backbone's last block trains with it (in ONNX Runtime). Usage:
//   node dist/examples/fine-tune-onnx.js DATA_DIR MODEL OUT_DIR
// MODEL is a .onnx file (e.g. exported by torch.onnx.export), a Transformers.js folder, or a registry backbone
// id (vit_b16, dinov2_s, …; see `transferkit weights list`).
import { resolveBase, saveModel, trainImageClassifier, trainedModelMetadata } from 'transferkit';

const [data, model, out] = process.argv.slice(2);
if (!data || !model || !out) {
  console.error('usage: fine-tune-onnx DATA_DIR MODEL OUT_DIR');
  process.exit(2);
}

// As `--base MODEL --unfreeze-last-blocks 1`: the model is read, cut at its features and at its last block.
const base = resolveBase({ base: model, unfreezeLastBlocks: 1 });
if (base.kind !== 'onnx') throw new Error(`${model} is a zoo model; this example fine-tunes an ONNX backbone`);
console.log(`base ${base.id}: features from ${base.features.value}, fine-tuned from block ${base.cut?.block}, ${base.inputSize}x${base.inputSize} images`);

const options = { ...base.options, epochs: 1, fineTuneEpochs: 1, seed: 1 };
const result = await trainImageClassifier(data, options);
// The saved model holds the fine-tuned backbone as base.onnx beside the head.
await saveModel(result.model, out, trainedModelMetadata(result, options, data), result.onnxBase?.onnx);

const phases = result.phases.map((p) => `phase ${p.phase + 1} from ${p.trainedFrom}`).join(', ');
const accuracy = result.val.accuracy === null ? 'no validation split' : `validation accuracy ${(result.val.accuracy * 100).toFixed(1)}%`;
console.log(`trained ${result.strategy} (${phases}) on ${result.counts.train} images: ${accuracy}; saved to ${out}`);
