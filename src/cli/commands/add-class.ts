import { addClass } from '../../heads/add-class.js';
import { command, printJson } from '../command.js';
import { text, withHelp } from '../flag.js';
import { ENGINE } from '../flags/engine.js';
import { json, out } from '../flags/output.js';

export const addClassCommand = command({
  name: 'add-class',
  usage: '<modelDir> <folder> [--name NAME] [--out DIR] [--json]',
  positionals: [2, 2],
  help: [
    `Adds a class to a model trained with --head knn or --head prototype, without retraining: the folder's images
go through the base once; k-NN stores their embeddings, prototype adds their mean as one more class. The model
gets one more output and is saved again (in place, unless --out).`,
    '',
    'Options:',
    text('name', 'NAME', "the class's name (default: the folder's name)"),
    withHelp(out, 'save the grown model there instead of over the model'),
    ...ENGINE,
    withHelp(
      json,
      `print {classNames, added: {name, images}, skipped, out, notice, seconds, timings: {loadS,
featuresS, saveS}}`,
    ),
    '',
    'Example:',
    '  transferkit add-class runs/pets photos/hamster/',
  ],
  async run(values, [dir, folder]) {
    const r = await addClass(dir, folder, { name: values.name, out: values.out, engine: values.engine });
    if (r.notice) process.stderr.write(`transferkit: ${r.notice}\n`);
    if (values.json) return printJson(r);
    process.stdout.write(
      `added class '${r.added.name}' (${r.added.images} images) in ${r.seconds.toFixed(2)} s (${r.timings.featuresS.toFixed(2)} s through the base): ${r.classNames.length} classes (${r.classNames.join(', ')}); saved to ${r.out}\n`,
    );
    if (r.skipped.length) process.stdout.write(`skipped ${r.skipped.length} file(s): ${r.skipped.map((s) => `${s.file} (${s.reason})`).join('; ')}\n`);
  },
});
