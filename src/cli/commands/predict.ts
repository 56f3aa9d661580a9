import path from 'node:path';
import { type LabelledFile, type SkippedFile, listImageFiles, listImageFolder } from '../../data/folders.js';
import { readTargetsCsv } from '../../data/targets.js';
import { splitFiles } from '../../data/split.js';
import { TransferkitError, UsageError } from '../../errors.js';
import { writeChart } from '../../report/charts.js';
import { confusionMatrixSvg } from '../../report/confusion.js';
import { reliabilitySvg } from '../../report/reliability.js';
import { rocSvg, prSvg } from '../../report/curves.js';
import { textTable } from '../../report/tables.js';
import { evaluateFiles, evaluateRegression, scoreFiles } from '../../train/saved/predict.js';
import { type ModelMetadata, loadModel } from '../../train/saved/saved-model.js';
import { type Command, numberOption, printJson } from '../command.js';
import { ENGINE_HELP, ENGINE_OPTIONS, SAVED_MODEL_HELP, SAVED_MODEL_OPTIONS, engineFrom, savedModelArgs } from '../model-options.js';

export const predictCommand: Command = {
  name: 'predict',
  usage: '<modelDir|model.keras|model.h5> <file|dir>... [--top-k K] [--tta] [--json]',
  positionals: [1, Infinity],
  options: { 'top-k': { type: 'string' }, tta: { type: 'boolean' }, ...SAVED_MODEL_OPTIONS, ...ENGINE_OPTIONS, json: { type: 'boolean' } },
  help: `
Options:
  --top-k K                    labels per image (default 3, at most the number of classes)
  --tta                        test-time augmentation: average over the image, mirrored, and zoomed in 10%${SAVED_MODEL_HELP}${ENGINE_HELP}
  --json                       print [{file, label, predictions: [{label, probability}]}] ([{file, value}] for a
                               regressor); label is the decision (two classes: at the model's saved threshold)`,
  async run(values, positionals) {
    const { model: dir, rest: paths, options } = savedModelArgs(values, positionals, `predict ${predictCommand.usage}`);
    const { model, metadata, onnxBase } = await loadModel(dir, options);
    const names = metadata.classNames ?? [];
    // A foreign model without labels: its output units are the classes.
    const classes = names.length || Math.max(2, model.outputs[0].shape[model.outputs[0].shape.length - 1] ?? 1);
    const k = Math.min(numberOption(values, 'top-k', (n) => Number.isInteger(n) && n > 0, 'a positive integer') ?? 3, classes);
    const { scored, skipped } = await scoreFiles(model, metadata, await listImageFiles(paths), {
      engine: engineFrom(values),
      tta: Boolean(values.tta),
      onnxBase,
      modelLabel: dir,
    });
    const skips = () =>
      skipped.length &&
      process.stdout.write(
        `skipped ${skipped.length} file(s): ${skipped
          .map((s) => s.file)
          .slice(0, 3)
          .join(', ')}\n`,
      );
    if (metadata.task === 'regression') {
      const outputs = scored.map((s) => ({ file: s.file, value: s.value as number }));
      if (values.json) return printJson(outputs);
      process.stdout.write(
        textTable(
          ['File', 'Prediction'],
          outputs.map((r) => [r.file, r.value.toPrecision(4)]),
          [false, true],
        ),
      );
      skips();
      return;
    }
    const results = scored.map((s) => ({
      file: s.file,
      label: names[s.label as number] ?? String(s.label),
      predictions: s.probabilities
        .map((probability, i) => ({ label: names[i] ?? String(i), probability }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, k),
    }));
    if (values.json) return printJson(results);
    process.stdout.write(
      textTable(
        ['File', 'Class', 'Probabilities'],
        results.map((r) => [r.file, r.label, r.predictions.map((p) => `${p.label} ${(p.probability * 100).toFixed(1)}%`).join(', ')]),
        [false, false, false],
      ),
    );
    skips();
  },
};

/** The files to evaluate: all, or the training or validation part of the split the model was trained with. */
export function subsetOf<T extends { file: string }>(files: T[], subset: string, meta: ModelMetadata): T[] {
  if (subset === 'all') return files;
  if (subset !== 'validation' && subset !== 'training') throw new UsageError(`--subset must be all, training or validation; got '${subset}'`);
  const training = (meta.training ?? {}) as { validationSplit?: number; seed?: number };
  const split = splitFiles(files as unknown as LabelledFile[], training.validationSplit ?? 0.2, training.seed ?? 1337);
  return (subset === 'validation' ? split.validation : split.train) as unknown as T[];
}

/** A folder of class folders (or one side of the model's split) labelled with the model's class indices. */
export async function labelledSubset(
  dataDir: string,
  metadata: ModelMetadata,
  subset: string,
): Promise<{ names: string[]; files: LabelledFile[]; skipped: SkippedFile[] }> {
  const folder = await listImageFolder(dataDir);
  const names = metadata.classNames ?? folder.classNames;
  const unknown = folder.classNames.filter((c) => !names.includes(c));
  if (unknown.length) throw new TransferkitError(`${dataDir}: class folder(s) ${unknown.join(', ')} are not classes of the model (${names.join(', ')})`);
  // The split is drawn over the folder's own labels, as in training; the model's class order labels the result.
  const files = subsetOf(folder.files, subset, metadata).map((f) => ({ file: f.file, label: names.indexOf(folder.classNames[f.label]) }));
  return { names, files, skipped: folder.skipped };
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  usage: '<modelDir|model.keras|model.h5> <dataDir|targets.csv> [--subset all|training|validation] [--confusion-matrix FILE] [--curves DIR] [--tta] [--json]',
  positionals: [1, 2],
  options: {
    subset: { type: 'string' },
    'confusion-matrix': { type: 'string' },
    curves: { type: 'string' },
    reliability: { type: 'string' },
    tta: { type: 'boolean' },
    ...SAVED_MODEL_OPTIONS,
    ...ENGINE_OPTIONS,
    json: { type: 'boolean' },
  },
  help: `
The class folders must carry the model's class names; a regressor takes the file,target CSV it was trained on.

Options:
  --subset all|training|validation   all images (default), or one side of the split the model was trained with
                                     (its --validation-split and --seed, from transferkit.json)
  --confusion-matrix FILE.svg|png    draw the confusion matrix
  --curves DIR                 two classes: write DIR/roc.svg, roc.png, pr.svg and pr.png
  --reliability FILE.svg|png   draw the reliability diagram (accuracy against confidence, 15 bins)
  --tta                        test-time augmentation: average over the image, mirrored, and zoomed in 10%${SAVED_MODEL_HELP}${ENGINE_HELP}
  --json                       print {loss, ece, reliability (bins), brier, accuracy, balancedAccuracy, macro,
                               perClass, confusionMatrix, binary
                               (rocAuc, prAuc, threshold, sensitivity, specificity), curves, skipped}
                               ({loss, mae, rmse} for a regressor)

Two classes are decided at the threshold saved with the model (train --threshold; default 0.5); the second
class (in sorted order) is the positive one.`,
  async run(values, positionals) {
    const { model: dir, rest, options } = savedModelArgs(values, positionals, `evaluate ${evaluateCommand.usage}`);
    if (rest.length > 1) throw new UsageError(`unexpected argument '${rest[1]}'`);
    const dataDir = rest[0];
    const { model, metadata, onnxBase } = await loadModel(dir, options);
    const subset = (values.subset as string | undefined) ?? 'all';
    const engine = engineFrom(values);
    if (metadata.task === 'regression') {
      const data = await readTargetsCsv(dataDir);
      const e = await evaluateRegression(model, metadata, subsetOf(data.files, subset, metadata), {
        engine,
        tta: Boolean(values.tta),
        onnxBase,
        modelLabel: dir,
      });
      const skipped = [...data.skipped, ...e.skipped];
      if (values.json) return printJson({ ...e, skipped });
      process.stdout.write(`MSE ${e.loss.toPrecision(4)}, MAE ${e.mae.toPrecision(4)}, RMSE ${e.rmse.toPrecision(4)} on ${e.count} images\n`);
      return;
    }
    const { names, files, skipped: unread } = await labelledSubset(dataDir, metadata, subset);
    const e = await evaluateFiles(model, metadata, files, names, { engine, tta: Boolean(values.tta), onnxBase, modelLabel: dir });
    const skipped = [...unread, ...e.skipped];
    const picture = values['confusion-matrix'] as string | undefined;
    if (picture)
      await writeChart(
        picture,
        confusionMatrixSvg(
          names,
          e.confusionMatrix,
          `Confusion matrix: ${path.basename(path.resolve(dir))} on ${subset === 'all' ? path.basename(path.resolve(dataDir)) : `the ${subset} split`}`,
        ),
      );
    const reliability = values.reliability as string | undefined;
    if (reliability) await writeChart(reliability, reliabilitySvg([{ name: 'model', ece: e.ece, bins: e.reliability }], path.basename(path.resolve(dir))));
    const curvesDir = values.curves as string | undefined;
    const written: string[] = [];
    if (curvesDir) {
      if (!e.curves || !e.binary) throw new UsageError('--curves draws ROC and precision-recall curves, which need two classes');
      const what = `${path.basename(path.resolve(dir))} on ${subset === 'all' ? path.basename(path.resolve(dataDir)) : `the ${subset} split`}`;
      for (const [name, svg] of [
        ['roc', rocSvg(e.curves, e.binary, what)],
        ['pr', prSvg(e.curves, e.binary, what)],
      ] as const) {
        for (const ext of ['svg', 'png']) {
          written.push(path.join(curvesDir, `${name}.${ext}`));
          await writeChart(written[written.length - 1], svg);
        }
      }
    }
    if (values.json) return printJson({ ...e, skipped });
    process.stdout.write(
      `loss ${e.loss.toFixed(4)}, accuracy ${(e.accuracy * 100).toFixed(2)}%, balanced accuracy ${(e.balancedAccuracy * 100).toFixed(2)}% on ${files.length - e.skipped.length} images; ECE ${(e.ece * 100).toFixed(2)}% (15 bins), Brier ${e.brier.toFixed(4)}\n`,
    );
    if (e.binary) {
      const b = e.binary;
      process.stdout.write(
        `ROC AUC ${b.rocAuc.toFixed(4)}, PR AUC ${b.prAuc.toFixed(4)}; at threshold ${b.threshold.toFixed(3)} on p(${names[1]}): sensitivity ${(b.sensitivity * 100).toFixed(1)}%, specificity ${(b.specificity * 100).toFixed(1)}%\n`,
      );
    }
    process.stdout.write('\n');
    const row = (name: string, c: { precision: number; recall: number; f1: number }, support: string) => [
      name,
      c.precision.toFixed(3),
      c.recall.toFixed(3),
      c.f1.toFixed(3),
      support,
    ];
    const total = String(e.perClass.reduce((n, c) => n + c.support, 0));
    process.stdout.write(
      textTable(
        ['Class', 'Precision', 'Recall', 'F1', 'Support'],
        [...e.perClass.map((c) => row(c.className, c, String(c.support))), row('macro average', e.macro, total)],
        [false, true, true, true, true],
      ),
    );
    process.stdout.write(`\nConfusion matrix (rows: true, columns: predicted)\n`);
    process.stdout.write(
      textTable(
        ['', ...names],
        e.confusionMatrix.map((row, i) => [names[i], ...row.map(String)]),
        [false, ...names.map(() => true)],
      ),
    );
    if (picture) process.stdout.write(`\nwrote ${picture}\n`);
    if (reliability) process.stdout.write(`wrote ${reliability}\n`);
    if (written.length) process.stdout.write(`wrote ${written.join(', ')}\n`);
  },
};
