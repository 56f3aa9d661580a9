import { stackedBarSvg, writeChart } from '../../report/charts.js';
import { paramsTable } from '../../report/tables.js';
import { compareParams } from '../../train/strategy/strategies.js';
import { UsageError } from '../../errors.js';
import { type Command, printJson } from '../command.js';
import { MODEL_OPTIONS, MODEL_OPTIONS_HELP, buildModel } from '../model-options.js';

const millions = (n: number) => (n === 0 ? '0' : `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)}M`);

export const compareParamsCommand: Command = {
  name: 'compare-params',
  usage: '<model> --head SPEC --unfreeze-from LAYER [options]',
  positionals: [1, 1],
  options: { ...MODEL_OPTIONS, head: { type: 'string' }, 'unfreeze-from': { type: 'string' }, chart: { type: 'string' }, json: { type: 'boolean' } },
  help: `
Options:${MODEL_OPTIONS_HELP}
  --head SPEC                    the new head, e.g. 'flatten, dense:256:relu, dense:1:sigmoid' (required)
  --unfreeze-from LAYER          first trainable layer of the fine-tune strategy, e.g. block5_conv1 (required)
  --chart FILE.svg|FILE.png      also draw trainable vs non-trainable parameters per strategy
  --json                         print the three rows as JSON

Example:
  transferkit compare-params vgg16 --no-top --input-shape 32,32,3 --head 'flatten, dense:256:relu, dense:1:sigmoid' --unfreeze-from block5_conv1 --chart params.svg`,
  async run(values, [id]) {
    if (!values.head) throw new UsageError('--head SPEC is required');
    if (!values['unfreeze-from']) throw new UsageError('--unfreeze-from LAYER is required');
    const model = await buildModel(id, { ...values, 'unfreeze-from': undefined }, false);
    const rows = compareParams(model, { unfreezeFrom: values['unfreeze-from'] as string });
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
      await writeChart(values.chart as string, svg);
    }
    if (values.json) printJson(rows);
    else process.stdout.write(paramsTable(rows) + (values.chart ? `\nchart written to ${values.chart}\n` : ''));
  },
};
