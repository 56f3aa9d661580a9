// `train --features all.parquet`: the head trains on features that `extract` (perhaps sharded over many
// machines) computed, exactly as if `train` had computed them. The file's manifest gives the dataset in listing
// order (so the seeded split is the same), its source rebuilds the same base (checked by digest), and the base
// stays in the saved model, so `predict` works on images.
import path from 'node:path';
import type { SkippedFile } from '../../data/folders.js';
import { TransferkitError } from '../../errors.js';
import { memoryStore } from './store.js';
import { type FeaturesTable, featuresDigest, readFeaturesFile } from './file.js';
import { type TrainOptions, type TrainResult, trainImageClassifier } from '../fit/fit.js';
import type { PrecomputedFeatures } from '../fit/options.js';
import { baseModel } from '../../model/introspect.js';
import { isOnnxPath } from '../../engine/onnx-base.js';
import { weightsDir } from '../../weights/cache.js';

function precomputed(file: string, t: FeaturesTable, root: string): PrecomputedFeatures {
  const abs = (p: string) => path.join(root, p);
  const rowOf = new Map(t.paths.map((p, k) => [abs(p), k]));
  const reasons = new Map(t.meta.skipped.map((s) => [abs(s.file), s.reason]));
  const classes = t.meta.classNames.length;
  const files = t.meta.manifest.map(([p, label]) => ({ file: abs(p), label }));
  const present = new Set(files.map((f) => f.label));
  return {
    file,
    dataset: {
      task: classes === 2 ? 'binary' : 'categorical',
      classNames: t.meta.classNames,
      files,
      skipped: [],
      emptyClasses: t.meta.classNames.filter((_, k) => !present.has(k)),
    },
    store(model, wanted, from) {
      const firstHead = model.layers[1]?.name;
      if (from !== firstHead)
        throw new TransferkitError(`${file}: precomputed features feed the head only; the base cannot train from them (use --strategy feature-extraction)`);
      const digest = featuresDigest(baseModel(model), t.meta.source.preprocessing);
      if (digest !== t.meta.digest)
        throw new TransferkitError(
          `${file}: the features were computed by another base (digest ${t.meta.digest.slice(0, 12)}) than this one (${digest.slice(0, 12)}): train with the extract's --base, --weights and --input-size, or re-extract`,
        );
      const size = (baseModel(model).outputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
      if (size !== t.dim)
        throw new TransferkitError(
          `${file}: its rows hold ${t.dim} features, the base gives ${size}: the featureShape does not match the base; re-run the extract`,
        );
      const rows: number[] = [];
      const skipped: SkippedFile[] = [];
      for (const f of wanted) {
        const k = rowOf.get(f.file);
        if (k !== undefined) rows.push(k);
        else skipped.push({ file: f.file, reason: reasons.get(f.file) ?? 'no row in the features file' });
      }
      const vectors = new Float32Array(rows.length * t.dim);
      rows.forEach((k, i) => vectors.set(t.vectors.subarray(k * t.dim, (k + 1) * t.dim), i * t.dim));
      return {
        store: memoryStore(
          vectors,
          t.dim,
          rows.map((k) => t.labels[k]),
        ),
        skipped,
      };
    },
  };
}

/**
 * The file records where its base's weights (or ONNX model) were; a damaged or hostile file could point anywhere.
 * Opened are only what the user names (--weights, --base) and files inside transferkit's weights cache.
 */
function checkRecordedFiles(file: string, s: FeaturesTable['meta']['source'], o: Partial<TrainOptions>): void {
  const inCache = (p: string) => !path.relative(weightsDir(), path.resolve(p)).startsWith('..');
  const recorded = s.weights !== null && s.weights !== 'imagenet' && s.weights !== 'none';
  if (recorded && o.weights === undefined && !inCache(s.weights as string))
    throw new TransferkitError(
      `${file} was extracted with the weights file ${s.weights}: transferkit opens only the weights you name; add --weights FILE (that file, if you trust it)`,
    );
  if (typeof s.base !== 'string' || (isOnnxPath(s.base) && o.base === undefined && !inCache(s.base)))
    throw new TransferkitError(`${file} names the base ${JSON.stringify(s.base)}: transferkit opens only the base you name; add --base`);
}

/**
 * Trains a head on a features file. The base is the file's (`--base` and friends may restate it, and must then
 * agree); the strategy is feature extraction, without augmentation, on photos.
 */
export async function trainFromFeatures(file: string, o: Partial<TrainOptions>): Promise<{ result: TrainResult; options: TrainOptions; root: string }> {
  const t = await readFeaturesFile(file);
  if (t.meta.shard && t.meta.shard.count > 1)
    throw new TransferkitError(
      `${file} is shard ${t.meta.shard.index}/${t.meta.shard.count}: merge the shards first (transferkit features merge … --out all.parquet)`,
    );
  if (o.strategy && o.strategy !== 'feature-extraction')
    throw new TransferkitError(`--features trains the head on precomputed features: --strategy ${o.strategy} needs the images (train on the folder instead)`);
  if (o.augment) throw new TransferkitError('--features cannot augment: the features were computed from the images as they are');
  if (o.bands) throw new TransferkitError('--features holds photo features; --bands applies to GeoTIFF folders');
  if (t.meta.classNames.length < 2) throw new TransferkitError(`${file}: ${t.meta.classNames.length} class(es); a classifier needs at least 2`);
  const s = t.meta.source;
  const mismatch = (
    [
      ['--base', o.base, s.base],
      ['--alpha', o.alpha, s.alpha],
      ['--input-size', o.inputSize, s.inputSize],
    ] as const
  ).find(([, given, want]) => given !== undefined && given !== want);
  if (mismatch) throw new TransferkitError(`${file} holds features of ${mismatch[0]} ${mismatch[2]}, not ${mismatch[1]}: leave the flag out, or re-extract`);
  const root = t.meta.root;
  checkRecordedFiles(file, s, o);
  const options: TrainOptions = {
    ...o,
    base: s.base,
    ...(s.alpha !== undefined ? { alpha: s.alpha } : {}),
    weights: o.weights !== undefined ? o.weights : s.weights === 'none' ? null : s.weights,
    inputSize: s.inputSize,
    ...(s.pooling ? { pooling: s.pooling } : {}),
    precomputed: precomputed(file, t, root),
  };
  return { result: await trainImageClassifier(root, options), options, root };
}
