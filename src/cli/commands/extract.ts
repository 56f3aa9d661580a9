import path from 'node:path';
import { type ImageFolder, listImageFolder } from '../../data/folders.js';
import { NpyWriter } from '../../data/npy.js';
import { initBackend } from '../../engine/backend.js';
import { type EngineName, resolveEngine } from '../../engine/predictor.js';
import { UsageError } from '../../errors.js';
import { ProgressBar } from '../../util/progress.js';
import { describeShard, resolveShard, type Shard, shardFileName } from '../../data/shards.js';
import { type ExtractResult, extractFeatures, runOverImages, smallInputAdvice } from '../../train/features/extract.js';
import type { OnnxBase } from '../../engine/onnx-base.js';
import type { ResolvedBase } from '../../bases/resolve.js';
import { baseRecord, openBase } from '../../train/model/onnx-base.js';
import { type FeatureSource, formatOf, writeFeaturesFile } from '../../train/features/file.js';
import { extractFeatureTable } from '../../train/features/table.js';
import { writeFileAtomic } from '../../util/fs.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { command, printJson } from '../command.js';
import { choice, text, withHelp } from '../flag.js';
import { IMAGE_BASE } from '../flags/base.js';
import { ENGINE } from '../flags/engine.js';
import { json, out as outFlag } from '../flags/output.js';
import { shard, shards } from '../flags/shards.js';
import { baseFrom, buildBase } from '../model-options.js';

const pooling = choice('pooling', ['avg', 'max', 'none'], 'avg|max|none', 'pool the last feature map (default avg: one vector per image)', {
  what: 'avg, max or none',
});
const format = text('format', 'parquet|arrow|npy', "the output format (default: by --out's extension; parquet for a sharded run)");

export const extractCommand = command({
  name: 'extract',
  usage: '<dataDir> --base <model> --out FILE.npy|FILE.parquet|FILE.arrow [--shard K/N] [options]',
  positionals: [1, 1],
  help: [
    'Options:',
    ...IMAGE_BASE,
    ...ENGINE,
    pooling,
    withHelp(
      outFlag,
      `.npy: float32 features in file order, FILE.json beside it lists files, labels,
classNames, shape; .parquet / .arrow: one row per image (path relative to dataDir,
label, digest, features as a fixed-size list of float32)`,
      'FILE',
    ),
    format,
    shard,
    shards,
    withHelp(json, 'print the summary as JSON'),
    '',
    "Merge the shards with 'transferkit features merge'; train on the result with 'transferkit train --features'.",
    '',
    'Examples:',
    '  transferkit extract photos/ --base mobilenet --alpha 0.25 --input-size 96 --out features.npy',
    '  transferkit extract photos/ --base mobilenet --alpha 0.25 --input-size 96 --shard 2/4 --out shards/features.parquet',
  ],
  async run(values, [dataDir]) {
    if (!values.base) throw new UsageError('--base MODEL is required');
    if (!values.out) throw new UsageError('--out FILE.npy is required');
    const shard = resolveShard(values.shard, values.shards);
    const out = values.out;
    const format = formatOf(out, values.format ?? (shard && !path.extname(out) ? 'parquet' : undefined));
    const base = baseFrom(values).base as ResolvedBase;
    const onnx = base.kind === 'onnx' ? base.onnx : undefined;
    if (onnx) {
      if (shard || format !== 'npy') throw new UsageError('ONNX bases extract to .npy for now (no --shard, parquet or arrow): give --out FILE.npy');
      if (values.pooling !== undefined) throw new UsageError("--pooling applies to zoo bases; choose an ONNX base's features with --features-from");
    }
    const batchSize = values['batch-size'] ?? 64;
    if (base.kind === 'onnx') return extractOnnx(dataDir, base.onnx, out, values.json, { engine: await startEngine(values.engine), batchSize });
    const spec = base.spec;
    const size = base.inputSize;
    const pooling = values.pooling ?? 'avg';
    const engine = await startEngine(values.engine);
    const folder = await listImageFolder(dataDir);
    const model = await buildBase(spec.id, {
      weights: values.weights === undefined ? 'imagenet' : values.weights,
      'no-top': true,
      'input-shape': [size, size, 3],
      ...(pooling !== 'none' ? { pooling } : {}),
      ...(values.alpha !== undefined ? { alpha: values.alpha } : {}),
    });
    const advice = smallInputAdvice(model);
    if (advice) process.stderr.write(`transferkit: ${advice}\n`);
    if (shard || format !== 'npy') {
      const source: FeatureSource = {
        base: spec.id,
        ...(values.alpha !== undefined ? { alpha: values.alpha } : {}),
        weights: weightsRecord(values.weights),
        inputSize: size,
        pooling: pooling === 'none' ? null : pooling,
        preprocessing: spec.preprocessing,
      };
      return extractTable(Boolean(values.json), dataDir, folder, model, source, shard, path.extname(out) ? out : `${out}.${format}`, { engine, batchSize });
    }
    const rowShape = model.outputs[0].shape.slice(1) as number[];
    const result = await toNpy(`Extracting ${spec.id} features`, folder.files.length, out, rowShape, (sink, onProgress) =>
      extractFeatures(model, folder.files, sink, { engine, batchSize, onProgress }),
    );
    await writeSidecar(Boolean(values.json), folder, out, result, rowShape, {});
  },
});

/** The engine the flag (or TRANSFERKIT_ENGINE) names, started. */
async function startEngine(requested: EngineName | undefined): Promise<EngineName> {
  const engine = await resolveEngine(requested);
  // With ORT running the model, tfjs only holds the weights: its plain cpu backend starts in no time.
  if (engine === 'ort') await initBackend('cpu');
  return engine;
}

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
async function extractOnnx(
  dataDir: string,
  onnx: OnnxBase,
  out: string,
  json: boolean | undefined,
  o: { engine: EngineName; batchSize: number },
): Promise<void> {
  const folder = await listImageFolder(dataDir);
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
  await writeSidecar(Boolean(json), folder, out, result, rowShape, {
    onnxBase: { source: record.source, features: record.features, preprocessing: record.preprocessing },
  });
}

/** FILE.json beside FILE.npy (files, labels, classNames, shape, and what made them), and the summary. */
async function writeSidecar(json: boolean, folder: ImageFolder, out: string, result: ExtractResult, rowShape: number[], extra: object): Promise<void> {
  const skipped = [...folder.skipped, ...result.skipped];
  const sidecar = out.replace(/\.npy$/, '.json');
  const meta = { files: result.files, labels: result.labels, classNames: folder.classNames, shape: [result.files.length, ...rowShape], ...extra };
  await writeFileAtomic(sidecar, JSON.stringify(meta, null, 1) + '\n');
  const summary = { out: path.resolve(out), sidecar: path.resolve(sidecar), images: result.files.length, shape: meta.shape, engine: result.engine, skipped };
  if (json) return printJson(summary);
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
const weightsRecord = (w: string | null | undefined) => (w === null ? 'none' : w === undefined || w === 'imagenet' ? 'imagenet' : path.resolve(w));

/** `extract` into a Parquet/Arrow/npy table: one shard (or every image), written atomically. */
async function extractTable(
  json: boolean,
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
  if (json) return printJson(summary);
  process.stdout.write(`wrote ${summary.images} feature rows of shape [${table.meta.featureShape.join(', ')}] to ${file}\n`);
  if (skipped.length)
    process.stdout.write(
      `skipped ${skipped.length} file(s): ${skipped
        .slice(0, 3)
        .map((s) => `${s.file} (${s.reason})`)
        .join('; ')}${skipped.length > 3 ? '; …' : ''}\n`,
    );
}
