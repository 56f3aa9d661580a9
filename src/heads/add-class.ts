// `transferkit add-class RUN_DIR newclass/`: a k-NN or prototype model learns a class from a folder without
// retraining: the new images' unit embeddings join the stored ones (k-NN) or their mean becomes one more
// prototype, and the model is saved again with one more output.
import path from 'node:path';
import { DecodePool, decodeThreads } from '../data/decode-pool.js';
import { listImageFiles } from '../data/folders.js';
import type { SkippedFile } from '../data/folders.js';
import { type EngineName, createPredictor } from '../engine/predictor.js';
import { TransferkitError } from '../errors.js';
import { runOverImages } from '../train/features/extract.js';
import { loadModel, saveModel, sourceOf } from '../train/saved/saved-model.js';
import { parseEmbeddingHead, prototypeKernel } from './embedding.js';
import { embeddingModel } from './fit-head.js';
import { joinRows } from '../util/vectors.js';

export interface AddClassOptions {
  /** The class's name (default: the folder's name). */
  name?: string;
  /** Where the grown model goes (default: over the model, file by file, each written whole). */
  out?: string;
  engine?: EngineName;
  /** Threads that decode the images while the model runs (default: half the cores, up to 4, from 4 cores up; 0: none). */
  decodeThreads?: number;
}

/** What `addClass` did: the classes now, the new class's images, and where the time went. */
export interface AddClassResult {
  classNames: string[];
  added: { name: string; images: number };
  skipped: SkippedFile[];
  out: string;
  seconds: number;
  /** k-NN: the new class is much larger than the stored ones, and its vote will favour it (measured in docs/training.md). */
  notice?: string;
  /** Where the time went: loading the model, the new images through the base, and saving. */
  timings: { loadS: number; featuresS: number; saveS: number };
}

const BATCH = 64;

/** Appends `more` columns (dim × m) to a dim × n kernel. */
function appendColumns(kernel: Float32Array, n: number, more: Float32Array, m: number, dim: number): Float32Array {
  const out = new Float32Array(dim * (n + m));
  for (let d = 0; d < dim; d++) {
    out.set(kernel.subarray(d * n, (d + 1) * n), d * (n + m));
    out.set(more.subarray(d * m, (d + 1) * m), d * (n + m) + n);
  }
  return out;
}

/** Adds a class to a saved k-NN or prototype model from a folder of its images, without retraining. */
export async function addClass(dir: string, folder: string, options: AddClassOptions = {}): Promise<AddClassResult> {
  const start = performance.now();
  const { model, metadata } = await loadModel(dir);
  const loaded = performance.now();
  const head = parseEmbeddingHead(metadata.head);
  if (!head || head.kind === 'logistic')
    throw new TransferkitError(
      `${dir}: add-class needs a model with a knn or prototype head (train --head knn or --head prototype); its head is ${metadata.head ?? 'unknown'}`,
    );
  const classNames = metadata.classNames ?? [];
  const name = options.name ?? path.basename(path.resolve(folder));
  if (classNames.includes(name)) throw new TransferkitError(`${dir} already has a class '${name}'; give another --name`);
  const files = await listImageFiles([folder]);
  if (!files.length) throw new TransferkitError(`${folder}: no images in it (jpg, png, …)`);
  const norm = model.layers.findIndex((l) => l.getClassName() === 'UnitNormalization');
  const dense = model.layers[norm + 1];
  if (norm < 0 || !dense) throw new TransferkitError(`${dir}: the ${head.kind} head's layers are not where transferkit saves them; retrain it`);
  // More than one batch: threads decode the next batch while the model runs this one (started first, so that
  // they load while the model is compiled).
  const threads = options.decodeThreads ?? decodeThreads();
  const pool = files.length > BATCH && threads > 0 ? new DecodePool(threads) : undefined;
  let result: Awaited<ReturnType<typeof runOverImages>>;
  const chunks: Float32Array[] = [];
  try {
    // The unit embeddings: the model's output just before the stored-embeddings / prototype layer.
    const predictor = await createPredictor(model, { engine: options.engine, until: dense.name, batchSize: BATCH });
    const [height, width] = metadata.inputShape;
    try {
      result = await runOverImages(
        predictor,
        files.map((file) => ({ file, label: classNames.length })),
        async (rows) => void chunks.push(rows),
        { height, width, source: sourceOf(metadata), batchSize: BATCH, pool },
      );
    } finally {
      await predictor.dispose();
    }
  } finally {
    await pool?.close();
  }
  const extracted = performance.now();
  const m = result.labels.length;
  if (!m) throw new TransferkitError(`${folder}: none of its ${files.length} images could be decoded`);
  const dim = result.featureShape[0];
  const unit = joinRows(chunks, m * dim);
  const [kernel] = dense.getWeights();
  const [, n] = kernel.shape;
  const old = kernel.dataSync() as Float32Array;
  const classes = classNames.length + 1;
  let more: Float32Array;
  let labels: number[] | undefined;
  if (head.kind === 'knn') {
    more = new Float32Array(dim * m);
    for (let i = 0; i < m; i++) for (let d = 0; d < dim; d++) more[d * m + i] = unit[i * dim + d];
    labels = [...(model.layers[norm + 2].getConfig().labels as number[]), ...result.labels];
  } else {
    // Every prototype column has the fitted scale as its length.
    const scale = Math.hypot(...Array.from({ length: dim }, (_, d) => old[d * n]));
    more = prototypeKernel({ x: unit, dim, labels: new Array(m).fill(0) }, 1, scale);
  }
  const grown = embeddingModel(model.layers.slice(0, norm), { head, kernel: appendColumns(old, n, more, more.length / dim, dim), labels }, classes, dim);
  const out = options.out ?? dir;
  const added = { name, images: m, folder: path.resolve(folder) };
  await saveModel(grown, out, { ...metadata, classNames: [...classNames, name], addedClasses: [...((metadata.addedClasses as object[]) ?? []), added] });
  const perClass = labels ? (labels.length - m) / classNames.length : 0;
  const notice =
    labels && m > 2 * perClass
      ? `k-NN votes favour classes with many stored images: '${name}' has ${m}, the others ${Math.round(perClass)} on average; a folder of similar size keeps the vote fair`
      : undefined;
  const end = performance.now();
  return {
    classNames: [...classNames, name],
    added: { name, images: m },
    skipped: result.skipped,
    out,
    ...(notice ? { notice } : {}),
    seconds: (end - start) / 1000,
    timings: { loadS: (loaded - start) / 1000, featuresS: (extracted - loaded) / 1000, saveS: (end - extracted) / 1000 },
  };
}
