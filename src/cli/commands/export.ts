import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { compileInference } from '../../engine/onnx/compile.js';
import { UsageError } from '../../errors.js';
import { isKerasModelPath } from '../../keras/read.js';
import { writeKerasModel } from '../../keras/write.js';
import { loadModel, saveModel } from '../../train/saved/saved-model.js';
import { mergedOnnx } from '../../train/model/onnx-base.js';
import { writeFileAtomic } from '../../util/fs.js';
import { type Command, printJson } from '../command.js';
import { SAVED_MODEL_HELP, SAVED_MODEL_OPTIONS, savedModelArgs } from '../model-options.js';

const FORMATS = ['onnx', 'tfjs', 'keras', 'keras-h5'];

export const exportCommand: Command = {
  name: 'export',
  usage: '<modelDir|model.keras|model.h5> --format onnx|tfjs|keras|keras-h5 [--out FILE|DIR]',
  positionals: [0, 1],
  options: { format: { type: 'string' }, out: { type: 'string' }, ...SAVED_MODEL_OPTIONS, json: { type: 'boolean' } },
  help: `
Options:
  --format onnx|tfjs|keras|keras-h5
                       onnx: one .onnx file (channels-last float32 input, preprocessed as transferkit.json says;
                       on an imported ONNX base: its graph up to the features, then the head, one graph);
                       tfjs: model.json + weights.bin + transferkit.json, for tf.loadLayersModel in a browser;
                       keras: a Keras 3 .keras file (keras.saving.load_model); keras-h5: a Keras 2 full-model .h5
                       (tfjs, keras and keras-h5 only for zoo bases)
  --out FILE|DIR       where to write (default: <modelDir>/model.onnx|model.keras|model.h5, or <modelDir>-tfjs/)${SAVED_MODEL_HELP}
  --json               print what was written as JSON

Examples:
  transferkit export runs/cats-dogs --format onnx --out cats-dogs.onnx
  transferkit export runs/cats-dogs --format keras --out cats-dogs.keras`,
  async run(values, positionals) {
    const format = values.format as string | undefined;
    if (!format || !FORMATS.includes(format))
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}; got ${format === undefined ? 'nothing' : `'${format}'`}`);
    const { model: dir, options } = savedModelArgs(values, positionals, `export ${exportCommand.usage}`, 0);
    const { model, metadata, onnxBase } = await loadModel(dir, options);
    if (onnxBase && format !== 'onnx')
      throw new UsageError(
        `${dir} is trained on an imported ONNX base: export --format onnx (one graph, base and head); ${format} export is only for zoo bases`,
      );
    const stem = dir.replace(/\/+$/, '');
    const keras = isKerasModelPath(dir);
    const beside = (file: string) => (keras ? `${stem.replace(/\.\w+$/, '')}.${file.split('.').pop()}` : path.join(dir, file));
    let out = values.out as string | undefined;
    if (format === 'onnx') {
      out ??= beside('model.onnx');
      await writeFileAtomic(out, onnxBase ? mergedOnnx(onnxBase, model) : compileInference(model).onnx);
    } else if (format === 'keras' || format === 'keras-h5') {
      out ??= beside(format === 'keras' ? 'model.keras' : 'model.h5');
      if (path.resolve(out) === path.resolve(dir)) throw new UsageError(`--out ${out} is the model being exported; choose another file`);
      await writeKerasModel(model, out, format, metadata);
    } else {
      out ??= `${keras ? stem.replace(/\.\w+$/, '') : stem}-tfjs`;
      if (keras) await saveModel(model, out, metadata);
      else {
        await fsp.mkdir(out, { recursive: true });
        for (const f of ['model.json', 'weights.bin', 'transferkit.json']) await writeFileAtomic(path.join(out, f), await fsp.readFile(path.join(dir, f)));
      }
    }
    const result = {
      format,
      out: path.resolve(out),
      inputShape: metadata.inputShape,
      preprocessing: metadata.preprocessing,
      classNames: metadata.classNames ?? null,
    };
    if (values.json) printJson(result);
    else process.stdout.write(`exported ${format} to ${out} (input ${metadata.inputShape.join('x')}, preprocessing ${metadata.preprocessing})\n`);
  },
};
