import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { contactSheetHtml, inspectFiles, inspectionCsv } from '../../data-quality/inspect.js';
import { UsageError } from '../../errors.js';
import { textTable } from '../../report/tables.js';
import { loadModel } from '../../train/saved/saved-model.js';
import { writeFileAtomic } from '../../util/fs.js';
import { type Command, numberOption, printJson } from '../command.js';
import { ENGINE_HELP, ENGINE_OPTIONS, engineFrom } from '../model-options.js';
import { labelledSubset } from './predict.js';

export const inspectCommand: Command = {
  name: 'inspect',
  usage: '<modelDir> <dataDir> [--subset all|training|validation] [--top N] [--out DIR] [--no-gradcam] [--json]',
  positionals: [2, 2],
  options: {
    subset: { type: 'string' },
    top: { type: 'string' },
    out: { type: 'string' },
    'no-gradcam': { type: 'boolean' },
    ...ENGINE_OPTIONS,
    json: { type: 'boolean' },
  },
  help: `
Every image's loss, given and predicted class and probabilities, highest loss first (fastai's plot_top_losses,
with the file names), and the pairs of classes confused most (most_confused).

Options:
  --subset all|training|validation   all images (default), or one side of the split the model was trained with
  --top N                      how many of the worst images to list and draw (default 16)
  --out DIR                    write DIR/inspect.csv and inspect.json (every image) and DIR/top-losses.html (a
                               contact sheet of the top N: the image as the model sees it, the Grad-CAM of the
                               predicted class, the file name)
  --no-gradcam                 leave Grad-CAM out of the contact sheet (faster)${ENGINE_HELP}
  --json                       print {rows: [{file, trueClass, predictedClass, probability, trueProbability,
                               loss}], confused: [{trueClass, predictedClass, count}], skipped}

Example:
  transferkit inspect runs/photos photos/ --subset validation --out runs/photos/inspect`,
  async run(values, [dir, dataDir]) {
    const top = numberOption(values, 'top', (n) => Number.isInteger(n) && n > 0, 'a positive integer') ?? 16;
    const { model, metadata, onnxBase } = await loadModel(dir);
    if (metadata.task === 'regression') throw new UsageError(`${dir} is a regressor: inspect lists classification losses`);
    const subset = (values.subset as string | undefined) ?? 'all';
    const { names, files, skipped } = await labelledSubset(dataDir, metadata, subset);
    const r = await inspectFiles(model, metadata, files, names, { engine: engineFrom(values), onnxBase });
    const out = values.out as string | undefined;
    let note: string | undefined;
    if (out) {
      await fsp.mkdir(out, { recursive: true });
      await writeFileAtomic(path.join(out, 'inspect.csv'), inspectionCsv(r.rows));
      await writeFileAtomic(path.join(out, 'inspect.json'), JSON.stringify(r, null, 2) + '\n');
      const title = `Top ${Math.min(top, r.rows.length)} losses: ${path.basename(path.resolve(dir))} on ${path.basename(path.resolve(dataDir))}`;
      const sheet = await contactSheetHtml(model, metadata, r.rows.slice(0, top), title, !onnxBase && !values['no-gradcam']);
      note = sheet.gradcamNote;
      await writeFileAtomic(path.join(out, 'top-losses.html'), sheet.html);
    }
    const all = { ...r, skipped: [...skipped, ...r.skipped] };
    if (values.json) return printJson(all);
    process.stdout.write(
      textTable(
        ['File', 'Given', 'Predicted', 'p', 'Loss'],
        r.rows.slice(0, top).map((x) => [x.file, x.trueClass, x.predictedClass, x.probability.toFixed(3), x.loss.toFixed(3)]),
        [false, false, false, true, true],
      ),
    );
    process.stdout.write(`\nMost confused (given → predicted):\n`);
    process.stdout.write(
      r.confused.length
        ? r.confused
            .slice(0, 10)
            .map((c) => `  ${c.trueClass} → ${c.predictedClass}: ${c.count}\n`)
            .join('')
        : '  none\n',
    );
    if (out) process.stdout.write(`\nwrote ${path.join(out, 'inspect.csv')}, inspect.json, top-losses.html${note ? ` (${note})` : ''}\n`);
    if (all.skipped.length) process.stdout.write(`skipped ${all.skipped.length} file(s): ${all.skipped.map((s) => `${s.file} (${s.reason})`).join('; ')}\n`);
  },
};
