import { summarize, summary } from '../../report/summary.js';
import { command, printJson } from '../command.js';
import { num, toggle, withHelp } from '../flag.js';
import { featuresFrom } from '../flags/base.js';
import { HEAD, MODEL_OPTIONS } from '../flags/model.js';
import { json } from '../flags/output.js';
import { buildModel } from '../model-options.js';
import { onnxSummary } from '../../engine/onnx-base.js';
import { onnxSource, resolveBase } from '../../bases/resolve.js';
import { formatCount } from '../../util/format.js';

export const summaryCommand = command({
  name: 'summary',
  usage: '<model> [options]',
  positionals: [1, 1],
  help: [
    ...MODEL_OPTIONS,
    ...HEAD,
    toggle('show-trainable', 'add the Trainable column'),
    toggle('expand-nested', 'list the layers inside the base'),
    num('line-length', 'N', 'table width (default 88)', (n) => Number.isInteger(n) && n >= 40, 'an integer ≥ 40'),
    withHelp(json, 'print {model, totalParams, trainableParams, nonTrainableParams, layers} as JSON'),
    '',
    `An ONNX model (a .onnx file, a Transformers.js folder, or a registry backbone) is summarised: opset, inputs and
outputs, parameters, blocks, the feature value (--features-from NAME to try another) and preprocessing.

Example:
  transferkit summary vgg16 --no-top --input-shape 32,32,3 --head 'flatten, dense:256:relu, dense:1:sigmoid' --unfreeze-from block5_conv1`,
  ],
  // Documented in the text on ONNX models above.
  also: [featuresFrom],
  async run(values, [id]) {
    const onnx = onnxSource(id) ? resolveBase({ base: id, featuresFrom: values['features-from'] }) : null;
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
    const lineLength = values['line-length'];
    const model = await buildModel(id, values, false);
    const expandNested = Boolean(values['expand-nested']);
    if (values.json) printJson(summarize(model, { expandNested }));
    else process.stdout.write(summary(model, { showTrainable: Boolean(values['show-trainable']), expandNested, lineLength }) + '\n');
  },
});
