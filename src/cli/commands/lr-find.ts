import path from 'node:path';
import { UsageError } from '../../errors.js';
import { writeChart } from '../../report/charts.js';
import { lrFindSvg } from '../../report/lr-find-chart.js';
import { findLearningRate } from '../../train/fit/fit.js';
import { type Command, numberOption, printJson } from '../command.js';
import { ENGINE_HELP, IMAGE_BASE_HELP } from '../model-options.js';
import { TRAIN_OPTIONS, trainOptionsFrom } from './train.js';

export const lrFindCommand: Command = {
  name: 'lr-find',
  usage: '<dataDir|targets.csv> --base <model> [--strategy S] [--out DIR] [options]',
  positionals: [1, 1],
  options: { ...TRAIN_OPTIONS, steps: { type: 'string' } },
  help: `
The learning-rate range test (Smith 2015, fastai's lr_find) for the first phase of the strategy (the head for
feature-extraction and fine-tune, everything for full): from the phase's starting weights, the rate grows
exponentially from 1e-7 to 10 over --steps steps (default 200) while the smoothed training loss is recorded.
The suggestion is the rate of the lowest loss ÷ 10, where the loss still falls steadily; train --learning-rate
auto runs the same test for each phase.

Options:${IMAGE_BASE_HELP}${ENGINE_HELP}
  --strategy, --head, --batch-size, --optimizer, --validation-split, --seed, --augment, --bands …: as for train
  --steps N                    steps of the sweep (default 200)
  --out DIR                    write DIR/lr-find.svg and DIR/lr-find.png (loss against rate, suggestion marked)
  --json                       print {suggested, minimum, steepest, phase, points}

Example:
  transferkit lr-find photos/ --base mobilenet --alpha 0.25 --input-size 96 --out runs/lr`,
  async run(values, [dataDir]) {
    if (values['learning-rate'] !== undefined) throw new UsageError('lr-find chooses the learning rate: leave out --learning-rate');
    const steps = numberOption(values, 'steps', (n) => Number.isInteger(n) && n >= 20, 'an integer of at least 20');
    const r = await findLearningRate(dataDir, trainOptionsFrom(values), steps ? { steps } : {});
    const out = values.out as string | undefined;
    const files: string[] = [];
    if (out) {
      const svg = lrFindSvg(r, `learning-rate range test: ${path.basename(path.resolve(dataDir))}, ${values.base} (${r.phase.strategy})`);
      for (const ext of ['svg', 'png']) {
        files.push(path.join(out, `lr-find.${ext}`));
        await writeChart(files[files.length - 1], svg);
      }
    }
    if (values.json) return printJson({ suggested: r.suggested, minimum: r.minimum, steepest: r.steepest, phase: r.phase, points: r.points, files });
    process.stdout.write(
      `suggested learning rate ${r.suggested.toPrecision(2)} (lowest loss at ${r.minimum.toPrecision(2)}, steepest fall at ${r.steepest.toPrecision(2)}; ${r.points.length} steps training ${r.phase.strategy} from ${r.phase.from})\n`,
    );
    if (files.length) process.stdout.write(`wrote ${files.join(', ')}\n`);
  },
};
