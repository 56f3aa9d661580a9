import { summarize, summary } from '../../report/summary.js';
import { type Command, numberOption, printJson } from '../command.js';
import { HEAD_OPTIONS, MODEL_OPTIONS, MODEL_OPTIONS_HELP, buildModel } from '../model-options.js';
import { onnxSummary } from '../../engine/onnx-base.js';
import { onnxSource, resolveBase } from '../../bases/resolve.js';
import { formatCount } from '../../util/format.js';

export const summaryCommand: Command = {
  name: 'summary',
  usage: '<model> [options]',
  positionals: [1, 1],
  options: {
    ...MODEL_OPTIONS,
    ...HEAD_OPTIONS,
    'show-trainable': { type: 'boolean' },
    'expand-nested': { type: 'boolean' },
    'line-length': { type: 'string' },
    'features-from': { type: 'string' },
    json: { type: 'boolean' },
  },
  help: `
Options:${MODEL_OPTIONS_HELP}
  --head SPEC                    add a head, e.g. 'flatten, dense:256:relu, dense:1:sigmoid'
  --freeze-base                  freeze the pretrained base (feature extraction)
  --unfreeze-from LAYER          freeze the base up to LAYER, train LAYER and after (fine-tuning)
  --show-trainable               add the Trainable column
  --expand-nested                list the layers inside the base
  --line-length N                table width (default 88)
  --json                         print {model, totalParams, trainableParams, nonTrainableParams, layers} as JSON

An ONNX model (a .onnx file, a Transformers.js folder, or a registry backbone) is summarised: opset, inputs and
outputs, parameters, blocks, the feature value (--features-from NAME to try another) and preprocessing.

Example:
  transferkit summary vgg16 --no-top --input-shape 32,32,3 --head 'flatten, dense:256:relu, dense:1:sigmoid' --unfreeze-from block5_conv1`,
  async run(values, [id]) {
    const onnx = onnxSource(id) ? resolveBase({ base: id, featuresFrom: values['features-from'] as string | undefined }) : null;
    if (onnx?.kind === 'onnx') {
      const s = onnxSummary(onnx.onnx);
      if (values.json) return printJson(s);
      return void process.stdout.write(
        `${s.file}\n  producer ${s.producer}, opset ${s.opset}, ${s.nodes} nodes, ${formatCount(s.totalParams)} parameters in ${s.blocks} blocks\n` +
          `  input ${s.input.name} [${s.input.dims.join(', ')}] → outputs ${s.outputs.map((o) => `${o.name} [${o.dims.join(', ')}]`).join(', ')}\n` +
          `  features: ${s.features.value} (${s.features.rule})\n` +
          `  preprocessing: ${s.preprocessing.size}×${s.preprocessing.size}, x·${s.preprocessing.rescale.toPrecision(4)}, mean ${s.preprocessing.mean.join(',')}, std ${s.preprocessing.std.join(',')}\n` +
          (s.labels ? `  labels: ${s.labels.length} (config.json id2label)\n` : ''),
      );
    }
    const lineLength = numberOption(values, 'line-length', (n) => Number.isInteger(n) && n >= 40, 'an integer ≥ 40');
    const model = await buildModel(id, values, false);
    const expandNested = Boolean(values['expand-nested']);
    if (values.json) printJson(summarize(model, { expandNested }));
    else process.stdout.write(summary(model, { showTrainable: Boolean(values['show-trainable']), expandNested, lineLength }) + '\n');
  },
};
