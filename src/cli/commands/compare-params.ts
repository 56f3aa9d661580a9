import { stackedBarSvg, writeChart } from '../../report/charts.js';
import { paramsTable } from '../../report/tables.js';
import { compareParams } from '../../train/strategy/strategies.js';
import { UsageError } from '../../errors.js';
import { command, printJson } from '../command.js';
import { text, withHelp } from '../flag.js';
import { MODEL_OPTIONS, head, unfreezeFrom } from '../flags/model.js';
import { json } from '../flags/output.js';
import { buildModel } from '../model-options.js';

const millions = (n: number) => (n === 0 ? '0' : `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)}M`);

export const compareParamsCommand = command({
  name: 'compare-params',
  usage: '<model> --head SPEC --unfreeze-from LAYER [options]',
  positionals: [1, 1],
  help: [
    ...MODEL_OPTIONS,
    withHelp(head, "the new head, e.g. 'flatten, dense:256:relu, dense:1:sigmoid' (required)"),
    withHelp(unfreezeFrom, 'first trainable layer of the fine-tune strategy, e.g. block5_conv1 (required)'),
    text('chart', 'FILE.svg|FILE.png', 'also draw trainable vs non-trainable parameters per strategy'),
    withHelp(json, 'print the three rows as JSON'),
    '',
    'Example:',
    "  transferkit compare-params vgg16 --no-top --input-shape 32,32,3 --head 'flatten, dense:256:relu, dense:1:sigmoid' --unfreeze-from block5_conv1 --chart params.svg",
  ],
  async run(values, [id]) {
    if (!values.head) throw new UsageError('--head SPEC is required');
    const cut = values['unfreeze-from'];
    if (!cut) throw new UsageError('--unfreeze-from LAYER is required');
    const model = await buildModel(id, { ...values, 'unfreeze-from': undefined }, false);
    const rows = compareParams(model, { unfreezeFrom: cut });
    if (values.chart) {
      const svg = stackedBarSvg({
        title: `${model.layers[0].name}: parameters per training strategy`,
        categories: rows.map((r) => (r.unfreezeFrom ? `${r.strategy} (${r.unfreezeFrom})` : r.strategy)),
        series: [
          { name: 'trainable', values: rows.map((r) => r.trainableParams), color: '#3b75af' },
          { name: 'non-trainable', values: rows.map((r) => r.nonTrainableParams), color: '#b8b8b8' },
        ],
        yLabel: 'parameters',
        format: millions,
      });
      await writeChart(values.chart, svg);
    }
    if (values.json) printJson(rows);
    else process.stdout.write(paramsTable(rows) + (values.chart ? `\nchart written to ${values.chart}\n` : ''));
  },
});
