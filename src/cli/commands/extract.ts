import path from 'node:path';
import { getApplication } from '../../applications/index.js';
import { listImageFolder } from '../../data/folders.js';
import { NpyWriter } from '../../data/npy.js';
import { type EngineName, resolveEngine } from '../../engine/predictor.js';
import { UsageError } from '../../errors.js';
import { ProgressBar } from '../../util/progress.js';
import { extractFeatures, smallInputAdvice } from '../../train/extract.js';
import { writeFileAtomic } from '../../util/fs.js';
import { type Command, numberOption, printJson } from '../command.js';
import { ENGINE_HELP, ENGINE_OPTIONS, IMAGE_BASE_HELP, IMAGE_BASE_OPTIONS, buildBase } from '../model-options.js';

export const extractCommand: Command = {
  name: 'extract',
  usage: '<dataDir> --base <model> --out FILE.npy [options]',
  positionals: [1, 1],
  options: {
    ...IMAGE_BASE_OPTIONS,
    pooling: { type: 'string' },
    ...ENGINE_OPTIONS,
    out: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: `
Options:${IMAGE_BASE_HELP}${ENGINE_HELP}
  --pooling avg|max|none       pool the last feature map (default avg: one vector per image)
  --out FILE.npy               float32 features in file order; FILE.json beside it lists files, labels, classNames, shape
  --json                       print the summary as JSON

Example:
  transferkit extract photos/ --base mobilenet --alpha 0.25 --input-size 96 --out features.npy`,
  async run(values, [dataDir]) {
    if (!values.base) throw new UsageError('--base MODEL is required');
    if (!values.out) throw new UsageError('--out FILE.npy is required');
    const out = values.out as string;
    if (!out.endsWith('.npy')) throw new UsageError(`--out must name a .npy file; got ${out}`);
    const spec = getApplication(values.base as string).spec;
    const size = numberOption(values, 'input-size', (n) => Number.isInteger(n) && n > 0, 'a positive integer') ?? spec.defaultSize;
    const batchSize = numberOption(values, 'batch-size', (n) => Number.isInteger(n) && n > 0, 'a positive integer') ?? 32;
    const pooling = (values.pooling as string | undefined) ?? 'avg';
    if (!['avg', 'max', 'none'].includes(pooling)) throw new UsageError(`--pooling must be avg, max or none; got '${pooling}'`);
    const engine: EngineName = await resolveEngine(values.engine as string | undefined);
    const folder = await listImageFolder(dataDir);
    const model = await buildBase(spec.id, {
      weights: (values.weights as string | undefined) ?? 'imagenet',
      'no-top': true,
      'input-shape': `${size},${size},3`,
      ...(pooling !== 'none' ? { pooling } : {}),
      ...(values.alpha !== undefined ? { alpha: values.alpha } : {}),
    });
    const advice = smallInputAdvice(model);
    if (advice) process.stderr.write(`transferkit: ${advice}\n`);
    const bar = new ProgressBar({ label: `Extracting ${spec.id} features`, total: folder.files.length, unit: 'items' });
    const rowShape = model.outputs[0].shape.slice(1) as number[];
    const writer = await NpyWriter.open(out, rowShape);
    let result;
    try {
      let last = 0;
      result = await extractFeatures(model, folder.files, (rows, n) => writer.append(rows, n), {
        engine,
        batchSize,
        onProgress: (done) => {
          bar.tick(done - last);
          last = done;
        },
      });
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    bar.finish();
    const skipped = [...folder.skipped, ...result.skipped];
    const sidecar = out.replace(/\.npy$/, '.json');
    const meta = { files: result.files, labels: result.labels, classNames: folder.classNames, shape: [result.files.length, ...rowShape] };
    await writeFileAtomic(sidecar, JSON.stringify(meta, null, 1) + '\n');
    const summary = { out: path.resolve(out), sidecar: path.resolve(sidecar), images: result.files.length, shape: meta.shape, engine: result.engine, skipped };
    if (values.json) return printJson(summary);
    process.stdout.write(`wrote ${summary.images} feature rows of shape [${rowShape.join(', ')}] to ${out} (files and labels in ${sidecar})\n`);
    if (skipped.length) {
      process.stdout.write(`skipped ${skipped.length} file(s): ${skipped.slice(0, 3).map((s) => `${s.file} (${s.reason})`).join('; ')}${skipped.length > 3 ? '; …' : ''}\n`);
    }
    if (folder.emptyClasses.length) process.stdout.write(`empty class folders: ${folder.emptyClasses.join(', ')}\n`);
  },
};
