import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { compileInference } from '../../engine/onnx/compile.js';
import { UsageError } from '../../errors.js';
import { loadModel } from '../../train/saved-model.js';
import { writeFileAtomic } from '../../util/fs.js';
import { type Command, printJson } from '../command.js';

export const exportCommand: Command = {
  name: 'export',
  usage: '<modelDir> --format onnx|tfjs [--out FILE|DIR]',
  positionals: [1, 1],
  options: { format: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } },
  help: `
Options:
  --format onnx|tfjs   onnx: one .onnx file (channels-last float32 input, preprocessed as transferkit.json says);
                       tfjs: model.json + weights.bin + transferkit.json, for tf.loadLayersModel in a browser
  --out FILE|DIR       where to write (default: <modelDir>/model.onnx, or <modelDir>-tfjs/)
  --json               print what was written as JSON

Example:
  transferkit export runs/cats-dogs --format onnx --out cats-dogs.onnx`,
  async run(values, [dir]) {
    const format = values.format as string | undefined;
    if (format !== 'onnx' && format !== 'tfjs') throw new UsageError(`--format must be onnx or tfjs; got ${format === undefined ? 'nothing' : `'${format}'`}`);
    const { model, metadata } = await loadModel(dir);
    let out: string;
    if (format === 'onnx') {
      out = (values.out as string | undefined) ?? path.join(dir, 'model.onnx');
      const graph = compileInference(model);
      await writeFileAtomic(out, graph.onnx);
    } else {
      out = (values.out as string | undefined) ?? `${dir.replace(/\/+$/, '')}-tfjs`;
      await fsp.mkdir(out, { recursive: true });
      for (const f of ['model.json', 'weights.bin', 'transferkit.json']) await writeFileAtomic(path.join(out, f), await fsp.readFile(path.join(dir, f)));
    }
    const result = { format, out: path.resolve(out), inputShape: metadata.inputShape, preprocessing: metadata.preprocessing, classNames: metadata.classNames ?? null };
    if (values.json) printJson(result);
    else process.stdout.write(`exported ${format} to ${out} (input ${metadata.inputShape.join('x')}, preprocessing ${metadata.preprocessing})\n`);
  },
};
