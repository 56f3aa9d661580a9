// Every image's pooled features, computed once through the training code's feature cache (in memory, or on
// disk with --feature-cache disk, where a second command finds them): what the embedding heads, the label-issue
// search and the duplicate finder work on.
import { getApplication } from '../applications/index.js';
import type { LabelledFile } from '../data/folders.js';
import { initBackend } from '../engine/backend.js';
import { TransferkitError } from '../errors.js';
import { type Classifier, buildClassifier, cacheContext } from '../train/model/build.js';
import { type DataPlan, outputLayer, planData } from '../train/fit/data-plan.js';
import { type Context, cacheFeatures } from '../train/features/cache.js';
import type { TrainEvent, TrainOptions } from '../train/fit/options.js';
import type { FeatureRows } from './linear-probe.js';

/** Rows of pooled features with the files they came from (decodable ones, in plan order). */
export interface FileRows extends FeatureRows {
  files: string[];
}

export interface PooledFeatures {
  plan: DataPlan;
  /** The base with a pooling layer and a placeholder output layer (replaced by the head). */
  cls: Classifier;
  train: FileRows;
  validation: FileRows;
  context: Context;
  featuresS: number;
  cacheHits: number;
}

/** Refuses what the pooled features of a frozen zoo base cannot serve. */
function check(o: TrainOptions): void {
  const why = o.onnxBase
    ? 'an imported ONNX base'
    : o.from
      ? '--from'
      : o.augment
        ? 'augmentation'
        : o.strategy && o.strategy !== 'feature-extraction'
          ? `--strategy ${o.strategy}`
          : o.bands
            ? '--bands (multi-band rasters)'
            : null;
  if (why) throw new TransferkitError(`embedding heads and data checks work on a frozen zoo base's features; ${why} does not apply`);
}

async function rowsOf(c: Context, files: LabelledFile[], from: string): Promise<{ rows: FileRows; hit: boolean }> {
  const { store, hit } = await cacheFeatures(c, files, from, 0);
  try {
    const n = store.labels.length;
    const x = new Float32Array(n * store.rowSize);
    await store.read(
      Array.from({ length: n }, (_, i) => i),
      x,
    );
    const skipped = new Set(c.skipped.map((s) => s.file));
    const kept = files.filter((f) => !skipped.has(f.file)).map((f) => f.file);
    if (kept.length !== n) throw new TransferkitError(`feature rows (${n}) and decodable files (${kept.length}) disagree; clear the feature cache`);
    return { rows: { x, dim: store.rowSize, labels: store.labels, files: kept }, hit };
  } finally {
    await store.close();
  }
}

/** Plans the data as `train` does (same split and seed), builds the base and computes each image's pooled features. */
export async function pooledFeatures(data: string, o: TrainOptions): Promise<PooledFeatures> {
  check(o);
  const emit = (e: TrainEvent) => o.onEvent?.(e);
  const plan = await planData(data, o, emit);
  if (plan.task === 'regression') throw new TransferkitError(`${data}: embedding heads and data checks need class folders, not regression targets`);
  await initBackend();
  const want = outputLayer(plan.task, plan.classNames.length);
  const cls = await buildClassifier(plan, { ...o, head: `${o.pooling ? '' : 'gap, '}dense:${want.units}:${want.activation}` }, emit);
  const from = cls.model.layers[cls.model.layers.length - 1].name;
  const preprocessing = getApplication(o.base).spec.preprocessing;
  const context = cacheContext(cls, o, plan.skipped, preprocessing);
  const t = performance.now();
  const train = await rowsOf(context, plan.train, from);
  const validation = await rowsOf(context, plan.validation, from);
  if (!train.rows.labels.length) throw new TransferkitError(`${data}: no training image could be decoded`);
  return {
    plan,
    cls,
    train: train.rows,
    validation: validation.rows,
    context,
    featuresS: (performance.now() - t) / 1000,
    cacheHits: (train.hit ? train.rows.labels.length : 0) + (validation.hit ? validation.rows.labels.length : 0),
  };
}
