import { modelBlocks } from '../../applications/blocks.js';
import { textTable } from '../../report/tables.js';
import { formatCount } from '../../util/format.js';
import { type Command, printJson } from '../command.js';
import { MODEL_OPTIONS, MODEL_OPTIONS_HELP, buildBase } from '../model-options.js';

export const layersCommand: Command = {
  name: 'layers',
  usage: '<model> [options]',
  positionals: [1, 1],
  options: { ...MODEL_OPTIONS, json: { type: 'boolean' } },
  help: `
Options:${MODEL_OPTIONS_HELP}
  --json                         print [{block, firstLayer, layers, params, paramsFromHere}] as JSON

'Trained from here' counts the parameters that --unfreeze-from FIRST-LAYER makes trainable in the base.

Example:
  transferkit layers resnet50 --no-top`,
  async run(values, [id]) {
    const blocks = modelBlocks(await buildBase(id, values, false));
    if (values.json) return printJson(blocks);
    process.stdout.write(
      textTable(
        ['Block', 'Cut point (first layer)', 'Layers', 'Params', 'Trained from here'],
        blocks.map((b) => [b.block, b.firstLayer, String(b.layers), formatCount(b.params), formatCount(b.paramsFromHere)]),
        [false, false, true, true, true],
      ),
    );
  },
};
