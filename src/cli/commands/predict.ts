import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { IMAGE_EXTENSIONS, type LabelledFile, listImageFolder } from '../../data/folders.js';
import { readTargetsCsv } from '../../data/targets.js';
import { splitFiles } from '../../data/split.js';
import { TransferkitError, UsageError } from '../../errors.js';
import { writeChart } from '../../report/charts.js';
import { confusionMatrixSvg } from '../../report/confusion.js';
import { textTable } from '../../report/tables.js';
import { evaluateFiles, evaluateRegression, scoreFiles } from '../../train/predict.js';
import { type ModelMetadata, loadModel } from '../../train/saved-model.js';
import { type Command, numberOption, printJson } from '../command.js';
import { ENGINE_HELP, ENGINE_OPTIONS, SAVED_MODEL_HELP, SAVED_MODEL_OPTIONS, engineFrom, savedModelArgs } from '../model-options.js';

/** Image files named on the command line: files as given, folders searched (sorted, recursively). */
async function imageFiles(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const stat = await fsp.stat(p).catch(() => null);
    if (!stat) throw new TransferkitError(`${p}: no such file or folder`);
    if (stat.isDirectory()) {
      const entries = (await fsp.readdir(p, { recursive: true })).map(String).sort();
      out.push(...entries.filter((e) => IMAGE_EXTENSIONS.includes(path.extname(e).toLowerCase()) && !path.basename(e).startsWith('.')).map((e) => path.join(p, e)));
    } else out.push(p);
  }
  return out;
}

export const predictCommand: Command = {
  name: 'predict',
  usage: '<modelDir|model.keras|model.h5> <file|dir>... [--top-k K] [--json]',
  positionals: [1, Infinity],
  options: { 'top-k': { type: 'string' }, ...SAVED_MODEL_OPTIONS, ...ENGINE_OPTIONS, json: { type: 'boolean' } },
  help: `
Options:
  --top-k K                    labels per image (default 3, at most the number of classes)${SAVED_MODEL_HELP}${ENGINE_HELP}
  --json                       print [{file, predictions: [{label, probability}]}] ([{file, value}] for a regressor)`,
  async run(values, positionals) {
    const { model: dir, rest: paths, options } = savedModelArgs(values, positionals, `predict ${predictCommand.usage}`);
    const { model, metadata } = await loadModel(dir, options);
    const names = metadata.classNames ?? [];
    // A foreign model without labels: its output units are the classes.
    const classes = names.length || Math.max(2, model.outputs[0].shape[model.outputs[0].shape.length - 1] ?? 1);
    const k = Math.min(numberOption(values, 'top-k', (n) => Number.isInteger(n) && n > 0, 'a positive integer') ?? 3, classes);
    const { scored, skipped } = await scoreFiles(model, metadata, await imageFiles(paths), { engine: engineFrom(values) });
    const skips = () => skipped.length && process.stdout.write(`skipped ${skipped.length} file(s): ${skipped.map((s) => s.file).slice(0, 3).join(', ')}\n`);
    if (metadata.task === 'regression') {
      const outputs = scored.map((s) => ({ file: s.file, value: s.value as number }));
      if (values.json) return printJson(outputs);
      process.stdout.write(textTable(['File', 'Prediction'], outputs.map((r) => [r.file, r.value.toPrecision(4)]), [false, true]));
      skips();
      return;
    }
    const results = scored.map((s) => ({
      file: s.file,
      predictions: s.probabilities
        .map((probability, i) => ({ label: names[i] ?? String(i), probability }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, k),
    }));
    if (values.json) return printJson(results);
    process.stdout.write(textTable(['File', 'Prediction'], results.map((r) => [r.file, r.predictions.map((p) => `${p.label} ${(p.probability * 100).toFixed(1)}%`).join(', ')]), [false, false]));
    skips();
  },
};

/** The files to evaluate: all, or the training or validation part of the split the model was trained with. */
function subsetOf<T extends { file: string }>(files: T[], subset: string, meta: ModelMetadata): T[] {
  if (subset === 'all') return files;
  if (subset !== 'validation' && subset !== 'training') throw new UsageError(`--subset must be all, training or validation; got '${subset}'`);
  const training = (meta.training ?? {}) as { validationSplit?: number; seed?: number };
  const split = splitFiles(files as unknown as LabelledFile[], training.validationSplit ?? 0.2, training.seed ?? 1337);
  return (subset === 'validation' ? split.validation : split.train) as unknown as T[];
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  usage: '<modelDir|model.keras|model.h5> <dataDir|targets.csv> [--subset all|training|validation] [--confusion-matrix FILE] [--json]',
  positionals: [1, 2],
  options: { subset: { type: 'string' }, 'confusion-matrix': { type: 'string' }, ...SAVED_MODEL_OPTIONS, ...ENGINE_OPTIONS, json: { type: 'boolean' } },
  help: `
The class folders must carry the model's class names; a regressor takes the file,target CSV it was trained on.

Options:
  --subset all|training|validation   all images (default), or one side of the split the model was trained with
                                     (its --validation-split and --seed, from transferkit.json)
  --confusion-matrix FILE.svg|png    draw the confusion matrix${SAVED_MODEL_HELP}${ENGINE_HELP}
  --json                       print {loss, accuracy, confusionMatrix, perClass, skipped} ({loss, mae, rmse} for a regressor)`,
  async run(values, positionals) {
    const { model: dir, rest, options } = savedModelArgs(values, positionals, `evaluate ${evaluateCommand.usage}`);
    if (rest.length > 1) throw new UsageError(`unexpected argument '${rest[1]}'`);
    const dataDir = rest[0];
    const { model, metadata } = await loadModel(dir, options);
    const subset = (values.subset as string | undefined) ?? 'all';
    const engine = engineFrom(values);
    if (metadata.task === 'regression') {
      const data = await readTargetsCsv(dataDir);
      const e = await evaluateRegression(model, metadata, subsetOf(data.files, subset, metadata), { engine });
      const skipped = [...data.skipped, ...e.skipped];
      if (values.json) return printJson({ ...e, skipped });
      process.stdout.write(`MSE ${e.loss.toPrecision(4)}, MAE ${e.mae.toPrecision(4)}, RMSE ${e.rmse.toPrecision(4)} on ${e.count} images\n`);
      return;
    }
    const folder = await listImageFolder(dataDir);
    const names = metadata.classNames ?? folder.classNames;
    const unknown = folder.classNames.filter((c) => !names.includes(c));
    if (unknown.length) throw new TransferkitError(`${dataDir}: class folder(s) ${unknown.join(', ')} are not classes of the model (${names.join(', ')})`);
    // The split is drawn over the folder's own labels, as in training; the model's class order labels the result.
    const files = subsetOf(folder.files, subset, metadata).map((f) => ({ file: f.file, label: names.indexOf(folder.classNames[f.label]) }));
    const e = await evaluateFiles(model, metadata, files, names, { engine });
    const skipped = [...folder.skipped, ...e.skipped];
    const picture = values['confusion-matrix'] as string | undefined;
    if (picture) await writeChart(picture, confusionMatrixSvg(names, e.confusionMatrix, `Confusion matrix: ${path.basename(path.resolve(dir))} on ${subset === 'all' ? path.basename(path.resolve(dataDir)) : `the ${subset} split`}`));
    if (values.json) return printJson({ ...e, skipped });
    process.stdout.write(`loss ${e.loss.toFixed(4)}, accuracy ${(e.accuracy * 100).toFixed(2)}% on ${files.length - e.skipped.length} images\n\n`);
    process.stdout.write(textTable(['Class', 'Precision', 'Recall', 'F1', 'Support'], e.perClass.map((c) => [c.className, c.precision.toFixed(3), c.recall.toFixed(3), c.f1.toFixed(3), String(c.support)]), [false, true, true, true, true]));
    process.stdout.write(`\nConfusion matrix (rows: true, columns: predicted)\n`);
    process.stdout.write(textTable(['', ...names], e.confusionMatrix.map((row, i) => [names[i], ...row.map(String)]), [false, ...names.map(() => true)]));
    if (picture) process.stdout.write(`\nwrote ${picture}\n`);
  },
};
