import path from 'node:path';
import { getApplication } from '../../applications/index.js';
import { type ImageFolder, listImageFolder } from '../../data/folders.js';
import { NpyWriter } from '../../data/npy.js';
import { initBackend } from '../../engine/backend.js';
import { type EngineName, resolveEngine } from '../../engine/predictor.js';
import { UsageError } from '../../errors.js';
import { ProgressBar } from '../../util/progress.js';
import { describeShard, resolveShard, type Shard, shardFileName } from '../../data/shards.js';
import { type ExtractResult, extractFeatures, runOverImages, smallInputAdvice } from '../../train/features/extract.js';
import type { OnnxBase } from '../../engine/onnx-base.js';
import { baseRecord, openBase } from '../../train/model/onnx-base.js';
import { type FeatureSource, formatOf, writeFeaturesFile } from '../../train/features/file.js';
import { extractFeatureTable } from '../../train/features/table.js';
import { writeFileAtomic } from '../../util/fs.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Command, type Values, numberOption, printJson } from '../command.js';
import { ENGINE_HELP, ENGINE_OPTIONS, IMAGE_BASE_HELP, IMAGE_BASE_OPTIONS, buildBase, onnxBaseFrom } from '../model-options.js';

export const extractCommand: Command = {
  name: 'extract',
  usage: '<dataDir> --base <model> --out FILE.npy|FILE.parquet|FILE.arrow [--shard K/N] [options]',
  positionals: [1, 1],
  options: {
    ...IMAGE_BASE_OPTIONS,
    pooling: { type: 'string' },
    ...ENGINE_OPTIONS,
    out: { type: 'string' },
    format: { type: 'string' },
    shard: { type: 'string' },
    shards: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: `
Options:${IMAGE_BASE_HELP}${ENGINE_HELP}
  --pooling avg|max|none       pool the last feature map (default avg: one vector per image)
  --out FILE                   .npy: float32 features in file order, FILE.json beside it lists files, labels,
                               classNames, shape; .parquet / .arrow: one row per image (path relative to dataDir,
                               label, digest, features as a fixed-size list of float32)
  --format parquet|arrow|npy   the output format (default: by --out's extension; parquet for a sharded run)
  --shard K/N                  extract only shard K (0-based) of N: files are assigned by a hash of their path
                               under dataDir, so adding files never moves others; writes FILE-0000K-of-0000N.ext
  --shards N                   the shard count where the engine gives only the index (Kubernetes
                               JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX); Slurm (SLURM_ARRAY_TASK_ID/COUNT)
                               and Google Batch (BATCH_TASK_INDEX/COUNT) give both
  --json                       print the summary as JSON

Merge the shards with 'transferkit features merge'; train on the result with 'transferkit train --features'.

Examples:
  transferkit extract photos/ --base mobilenet --alpha 0.25 --input-size 96 --out features.npy
  transferkit extract photos/ --base mobilenet --alpha 0.25 --input-size 96 --shard 2/4 --out shards/features.parquet`,
  async run(values, [dataDir]) {
    if (!values.base) throw new UsageError('--base MODEL is required');
    if (!values.out) throw new UsageError('--out FILE.npy is required');
    const shards = numberOption(values, 'shards', (n) => Number.isInteger(n) && n > 0, 'a positive integer');
    const shard = resolveShard(values.shard as string | undefined, shards);
    const out = values.out as string;
    const format = formatOf(out, (values.format as string | undefined) ?? (shard && !path.extname(out) ? 'parquet' : undefined));
    const onnx = onnxBaseFrom(values);
    if (onnx) {
      if (shard || format !== 'npy') throw new UsageError('ONNX bases extract to .npy for now (no --shard, parquet or arrow): give --out FILE.npy');
      if (values.pooling !== undefined) throw new UsageError("--pooling applies to zoo bases; choose an ONNX base's features with --features-from");
    }
    const spec = onnx ? null : getApplication(values.base as string).spec;
    const size = onnx
      ? onnx.preprocessing.size
      : (numberOption(values, 'input-size', (n) => Number.isInteger(n) && n > 0, 'a positive integer') ?? (spec as { defaultSize: number }).defaultSize);
    const batchSize = numberOption(values, 'batch-size', (n) => Number.isInteger(n) && n > 0, 'a positive integer') ?? 64;
    const pooling = (values.pooling as string | undefined) ?? 'avg';
    if (!['avg', 'max', 'none'].includes(pooling)) throw new UsageError(`--pooling must be avg, max or none; got '${pooling}'`);
    const engine: EngineName = await resolveEngine(values.engine as string | undefined);
    // With ORT running the model, tfjs only holds the weights: its plain cpu backend starts in no time.
    if (engine === 'ort') await initBackend('cpu');
    const folder = await listImageFolder(dataDir);
    if (!spec) return extractOnnx(values, folder, onnx as OnnxBase, out, { engine, batchSize });
    const model = await buildBase(spec.id, {
      weights: (values.weights as string | undefined) ?? 'imagenet',
      'no-top': true,
      'input-shape': `${size},${size},3`,
      ...(pooling !== 'none' ? { pooling } : {}),
      ...(values.alpha !== undefined ? { alpha: values.alpha } : {}),
    });
    const advice = smallInputAdvice(model);
    if (advice) process.stderr.write(`transferkit: ${advice}\n`);
    if (shard || format !== 'npy') {
      const source: FeatureSource = {
        base: spec.id,
        ...(values.alpha !== undefined ? { alpha: Number(values.alpha) } : {}),
        weights: weightsRecord(values.weights as string | undefined),
        inputSize: size,
        pooling: pooling === 'none' ? null : (pooling as 'avg' | 'max'),
        preprocessing: spec.preprocessing,
      };
      return extractTable(values, dataDir, folder, model, source, shard, path.extname(out) ? out : `${out}.${format}`, { engine, batchSize });
    }
    const rowShape = model.outputs[0].shape.slice(1) as number[];
    const result = await toNpy(`Extracting ${spec.id} features`, folder.files.length, out, rowShape, (sink, onProgress) =>
      extractFeatures(model, folder.files, sink, { engine, batchSize, onProgress }),
    );
    await writeSidecar(values, folder, out, result, rowShape, {});
  },
};

/** Runs `extract` into an .npy file with a progress bar; the file is removed if the run fails. */
async function toNpy<R>(
  label: string,
  total: number,
  out: string,
  rowShape: number[],
  run: (sink: (rows: Float32Array, n: number) => Promise<void>, onProgress: (done: number) => void) => Promise<R>,
): Promise<R> {
  const bar = new ProgressBar({ label, total, unit: 'items' });
  const writer = await NpyWriter.open(out, rowShape);
  let last = 0;
  let result: R;
  try {
    result = await run(
      (rows, n) => writer.append(rows, n),
      (done) => {
        bar.tick(done - last);
        last = done;
      },
    );
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  bar.finish();
  return result;
}

/** `extract --base model.onnx`: the ONNX base's features (in ONNX Runtime, cut at the feature value) into .npy. */
async function extractOnnx(values: Values, folder: ImageFolder, onnx: OnnxBase, out: string, o: { engine: EngineName; batchSize: number }): Promise<void> {
  const open = await openBase(onnx, o.engine);
  const size = onnx.preprocessing.size;
  const rowShape = [open.dim];
  let result;
  try {
    result = await toNpy(`Extracting ${onnx.id} features`, folder.files.length, out, rowShape, (sink, onProgress) =>
      runOverImages(open.predictor, folder.files, sink, { height: size, width: size, source: open.source, batchSize: o.batchSize, onProgress }),
    );
  } finally {
    await open.predictor.dispose();
  }
  const record = baseRecord(open);
  await writeSidecar(values, folder, out, result, rowShape, {
    onnxBase: { source: record.source, features: record.features, preprocessing: record.preprocessing },
  });
}

/** FILE.json beside FILE.npy (files, labels, classNames, shape, and what made them), and the summary. */
async function writeSidecar(values: Values, folder: ImageFolder, out: string, result: ExtractResult, rowShape: number[], extra: object): Promise<void> {
  const skipped = [...folder.skipped, ...result.skipped];
  const sidecar = out.replace(/\.npy$/, '.json');
  const meta = { files: result.files, labels: result.labels, classNames: folder.classNames, shape: [result.files.length, ...rowShape], ...extra };
  await writeFileAtomic(sidecar, JSON.stringify(meta, null, 1) + '\n');
  const summary = { out: path.resolve(out), sidecar: path.resolve(sidecar), images: result.files.length, shape: meta.shape, engine: result.engine, skipped };
  if (values.json) return printJson(summary);
  process.stdout.write(`wrote ${summary.images} feature rows of shape [${rowShape.join(', ')}] to ${out} (files and labels in ${sidecar})\n`);
  if (skipped.length) {
    process.stdout.write(
      `skipped ${skipped.length} file(s): ${skipped
        .slice(0, 3)
        .map((s) => `${s.file} (${s.reason})`)
        .join('; ')}${skipped.length > 3 ? '; …' : ''}\n`,
    );
  }
  if (folder.emptyClasses.length) process.stdout.write(`empty class folders: ${folder.emptyClasses.join(', ')}\n`);
}

/** The weights as the features file records them: a file by its absolute path, so `train --features` finds it anywhere. */
const weightsRecord = (w: string | undefined) => (w === undefined || w === 'imagenet' || w === 'none' ? (w ?? 'imagenet') : path.resolve(w));

/** `extract` into a Parquet/Arrow/npy table: one shard (or every image), written atomically. */
async function extractTable(
  values: Values,
  dataDir: string,
  folder: ImageFolder,
  model: tfl.LayersModel,
  source: FeatureSource,
  shard: Shard | null,
  out: string,
  options: { engine: EngineName; batchSize: number },
): Promise<void> {
  const file = shard ? shardFileName(out, shard) : out;
  if (shard) process.stderr.write(`transferkit: ${describeShard(shard)}\n`);
  let bar: ProgressBar | undefined;
  let last = 0;
  const { table, engine } = await extractFeatureTable(model, dataDir, folder, source, shard, {
    ...options,
    onProgress: (done, total) => {
      bar ??= new ProgressBar({ label: `Extracting ${source.base} features (${total} of ${folder.files.length} images)`, total, unit: 'items' });
      bar.tick(done - last);
      last = done;
    },
  });
  bar?.finish();
  await writeFeaturesFile(file, formatOf(file), table);
  // Files beside the images are every shard's to see: shard 0 reports them.
  const skipped = [...(shard && shard.index > 0 ? [] : folder.skipped), ...table.meta.skipped];
  const summary = {
    out: path.resolve(file),
    format: formatOf(file),
    images: table.paths.length,
    shape: [table.paths.length, ...table.meta.featureShape],
    digest: table.meta.digest,
    shard: shard ? { index: shard.index, count: shard.count, source: shard.source } : null,
    engine,
    skipped,
  };
  if (values.json) return printJson(summary);
  process.stdout.write(`wrote ${summary.images} feature rows of shape [${table.meta.featureShape.join(', ')}] to ${file}\n`);
  if (skipped.length)
    process.stdout.write(
      `skipped ${skipped.length} file(s): ${skipped
        .slice(0, 3)
        .map((s) => `${s.file} (${s.reason})`)
        .join('; ')}${skipped.length > 3 ? '; …' : ''}\n`,
    );
}
