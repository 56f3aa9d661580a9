import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { IMAGE_EXTENSIONS, listImageFolder } from '../../data/folders.js';
import { TransferkitError } from '../../errors.js';
import { textTable } from '../../report/tables.js';
import { evaluateFiles, scoreFiles } from '../../train/predict.js';
import { loadModel } from '../../train/saved-model.js';
import { type Command, numberOption, printJson } from '../command.js';

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
  usage: '<modelDir> <file|dir>... [--top-k K] [--json]',
  summary: 'Classify images with a saved model: the top-k labels with their probabilities.',
  positionals: [2, Infinity],
  options: { 'top-k': { type: 'string' }, json: { type: 'boolean' } },
  help: `
Options:
  --top-k K   labels per image (default 3, at most the number of classes)
  --json      print [{file, predictions: [{label, probability}]}]`,
  async run(values, [dir, ...paths]) {
    const { model, metadata } = await loadModel(dir);
    const names = metadata.classNames ?? [];
    const k = Math.min(numberOption(values, 'top-k', (n) => Number.isInteger(n) && n > 0, 'a positive integer') ?? 3, names.length || 1);
    const { scored, skipped } = await scoreFiles(model, metadata, await imageFiles(paths));
    const results = scored.map((s) => ({
      file: s.file,
      predictions: s.probabilities
        .map((probability, i) => ({ label: names[i] ?? String(i), probability }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, k),
    }));
    if (values.json) return printJson(results);
    process.stdout.write(textTable(['File', 'Prediction'], results.map((r) => [r.file, r.predictions.map((p) => `${p.label} ${(p.probability * 100).toFixed(1)}%`).join(', ')]), [false, false]));
    if (skipped.length) process.stdout.write(`skipped ${skipped.length} file(s): ${skipped.map((s) => s.file).slice(0, 3).join(', ')}\n`);
  },
};

export const evaluateCommand: Command = {
  name: 'evaluate',
  usage: '<modelDir> <dataDir> [--json]',
  summary: 'Evaluate a saved model on a folder of class folders: loss, accuracy, confusion matrix, per-class metrics.',
  positionals: [2, 2],
  options: { json: { type: 'boolean' } },
  help: `
The class folders must carry the model's class names.

Options:
  --json      print {loss, accuracy, confusionMatrix, perClass}`,
  async run(values, [dir, dataDir]) {
    const { model, metadata } = await loadModel(dir);
    const folder = await listImageFolder(dataDir);
    const names = metadata.classNames ?? folder.classNames;
    const unknown = folder.classNames.filter((c) => !names.includes(c));
    if (unknown.length) throw new TransferkitError(`${dataDir}: class folder(s) ${unknown.join(', ')} are not classes of the model (${names.join(', ')})`);
    const files = folder.files.map((f) => ({ file: f.file, label: names.indexOf(folder.classNames[f.label]) }));
    const e = await evaluateFiles(model, metadata, files, names);
    const skipped = [...folder.skipped, ...e.skipped];
    if (values.json) return printJson({ ...e, skipped });
    process.stdout.write(`loss ${e.loss.toFixed(4)}, accuracy ${(e.accuracy * 100).toFixed(2)}% on ${files.length - e.skipped.length} images\n\n`);
    process.stdout.write(textTable(['Class', 'Precision', 'Recall', 'F1', 'Support'], e.perClass.map((c) => [c.className, c.precision.toFixed(3), c.recall.toFixed(3), c.f1.toFixed(3), String(c.support)]), [false, true, true, true, true]));
    process.stdout.write(`\nConfusion matrix (rows: true, columns: predicted)\n`);
    process.stdout.write(textTable(['', ...names], e.confusionMatrix.map((row, i) => [names[i], ...row.map(String)]), [false, ...names.map(() => true)]));
  },
};
