import { summarize, summary } from '../../report/summary.js';
import { type Command, numberOption, printJson } from '../command.js';
import { HEAD_OPTIONS, MODEL_OPTIONS, MODEL_OPTIONS_HELP, buildModel } from '../model-options.js';

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

Example:
  transferkit summary vgg16 --no-top --input-shape 32,32,3 --head 'flatten, dense:256:relu, dense:1:sigmoid' --unfreeze-from block5_conv1`,
  async run(values, [id]) {
    const lineLength = numberOption(values, 'line-length', (n) => Number.isInteger(n) && n >= 40, 'an integer ≥ 40');
    const model = await buildModel(id, values, false);
    const expandNested = Boolean(values['expand-nested']);
    if (values.json) printJson(summarize(model, { expandNested }));
    else process.stdout.write(summary(model, { showTrainable: Boolean(values['show-trainable']), expandNested, lineLength }) + '\n');
  },
};
