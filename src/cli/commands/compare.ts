import path from 'node:path';
import { UsageError } from '../../errors.js';
import { stackedBarSvg, writeChart } from '../../report/charts.js';
import { compareReportHtml } from '../../report/html.js';
import { textTable } from '../../report/tables.js';
import { compareStrategies, rowName } from '../../train/strategy/compare.js';
import { EMBEDDING_HEAD_HELP, parseEmbeddingHead } from '../../heads/embedding.js';
import { fitEmbeddingHead } from '../../heads/fit-head.js';
import { formatCount } from '../../util/format.js';
import { writeFileAtomic } from '../../util/fs.js';
import { type Command, printJson } from '../command.js';
import { IMAGE_BASE_HELP } from '../model-options.js';
import { TRAIN_OPTIONS, trainOptionsFrom } from './train.js';

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);

export const compareCommand: Command = {
  name: 'compare',
  usage: '<dataDir> --base <model> --unfreeze-from LAYER [options]',
  positionals: [1, 1],
  options: { ...TRAIN_OPTIONS, heads: { type: 'string' } },
  help: `
Options:${IMAGE_BASE_HELP}
  --unfreeze-from LAYER        where fine-tuning starts (required)
  --head SPEC, --epochs N, --fine-tune-epochs N, --learning-rate LR, --optimizer, --validation-split F, --seed N
                               as for transferkit train, the same for the three strategies
  --heads LIST                 also heads computed from the features, no epochs, on the same split: a comma-separated
                               list of knn[:K], prototype, logistic (e.g. knn,prototype,logistic)
  --out DIR                    write compare.json, params.svg, time.svg, accuracy.svg and report.html
  --json                       print the rows as JSON

Example:
  transferkit compare photos/ --base vgg16 --input-size 64 --unfreeze-from block5_conv1 --epochs 5 --out runs/compare`,
  async run(values, [dataDir]) {
    if (!values['unfreeze-from']) throw new UsageError('--unfreeze-from LAYER is required');
    if (values.strategy) throw new UsageError('compare trains all three strategies: leave out --strategy');
    if (values.from) throw new UsageError('compare builds its models from --base; fine-tune a saved model with train --from');
    const options = trainOptionsFrom(values);
    const heads = ((values.heads as string | undefined) ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean)
      .map((h) => {
        const head = parseEmbeddingHead(h);
        if (!head) throw new UsageError(`--heads ${values.heads}: '${h}' is not ${EMBEDDING_HEAD_HELP}`);
        return head;
      });
    if (heads.length && parseEmbeddingHead(options.head))
      throw new UsageError("--head is the trained strategies' head; put knn, prototype or logistic in --heads");
    const rows = await compareStrategies(dataDir, { ...options, unfreezeFrom: options.unfreezeFrom as string });
    for (const head of heads) {
      const r = await fitEmbeddingHead(dataDir, { ...options, strategy: 'feature-extraction' }, head);
      const total = r.model.countParams();
      rows.push({
        strategy: 'feature-extraction',
        head: r.head,
        totalParams: total,
        trainableParams: 0,
        nonTrainableParams: total,
        wallS: r.timings.totalS,
        secondsPerEpoch: null,
        bestValAccuracy: r.val.accuracy,
        finalValAccuracy: r.val.accuracy,
      });
      r.model.dispose();
    }
    const out = values.out as string | undefined;
    if (out) {
      const names = rows.map(rowName);
      const charts = {
        params: stackedBarSvg({
          title: 'parameters per strategy',
          categories: names,
          series: [
            { name: 'trainable', values: rows.map((r) => r.trainableParams), color: '#3b75af' },
            { name: 'non-trainable', values: rows.map((r) => r.nonTrainableParams), color: '#b8b8b8' },
          ],
          yLabel: 'parameters',
          format: (n) => (n === 0 ? '0' : `${(n / 1e6).toFixed(2)}M`),
        }),
        time: stackedBarSvg({
          title: 'wall time per strategy',
          categories: names,
          series: [{ name: 'seconds', values: rows.map((r) => r.wallS), color: '#e08214' }],
          yLabel: 'seconds',
          format: (v) => v.toFixed(1),
        }),
        accuracy: stackedBarSvg({
          title: 'best validation accuracy',
          categories: names,
          series: [{ name: 'accuracy', values: rows.map((r) => r.bestValAccuracy ?? 0), color: '#4dac26' }],
          yLabel: 'accuracy',
          format: (v) => v.toFixed(2),
        }),
      };
      for (const [name, svg] of Object.entries(charts)) await writeChart(path.join(out, `${name}.svg`), svg);
      await writeFileAtomic(path.join(out, 'compare.json'), JSON.stringify({ dataDir: path.resolve(dataDir), base: options.base, rows }, null, 2) + '\n');
      await writeFileAtomic(path.join(out, 'report.html'), compareReportHtml(`${options.base} on ${path.basename(path.resolve(dataDir))}`, rows, charts));
    }
    if (values.json) return printJson(rows);
    process.stdout.write(
      textTable(
        ['Strategy', 'Total params', 'Trainable', 'Non-trainable', 'Wall time', 's/epoch', 'Best val acc'],
        rows.map((r) => [
          rowName(r),
          formatCount(r.totalParams),
          formatCount(r.trainableParams),
          formatCount(r.nonTrainableParams),
          `${r.wallS.toFixed(1)} s`,
          r.secondsPerEpoch === null ? '-' : r.secondsPerEpoch.toFixed(2),
          pct(r.bestValAccuracy),
        ]),
        [false, true, true, true, true, true, true],
      ) + (out ? `\nreport: ${path.join(out, 'report.html')}\n` : ''),
    );
  },
};
