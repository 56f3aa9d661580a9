// The seed's workflow in one function: a folder of labelled images in, a trained, evaluated classifier out.
// Each phase trains what its strategy unfreezes; what stays frozen in front of it is computed once per image
// and cached (Keras recomputes it every epoch), then only the trained part runs, in ONNX Runtime.
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { getApplication } from '../applications/index.js';
import { type AugmentSpec, describeAugment } from '../data/augment.js';
import { type PixelSource, loadImageBatch, photoSource, rasterSource } from '../data/batches.js';
import { buildBandBase } from '../applications/bands.js';
import { type LabelledFile, type SkippedFile, listImageFolder } from '../data/folders.js';
import { splitFiles } from '../data/split.js';
import { readTargetsCsv } from '../data/targets.js';
import type { OptimizerSpec } from '../engine/optimizers.js';
import { type EngineName, type Predictor, createPredictor } from '../engine/predictor.js';
import { initBackend } from '../engine/backend.js';
import { createTrainer } from '../engine/trainer.js';
import type { Trainer } from '../engine/training.js';
import { TransferkitError } from '../errors.js';
import { seededRandom, shuffled } from '../util/random.js';
import { extractFeatures, smallInputAdvice } from './extract.js';
import { DiskStoreWriter, type FeatureStore, featureKey, loadDiskStore, memoryStore, modelDigest } from './feature-store.js';
import { addHead, parseHeadSpec } from './head.js';
import { type Strategy, applyStrategy } from './strategies.js';
import { type RasterOptions, type RasterPlan, planRasters } from './rasters.js';
import type { PrecomputedFeatures } from './precomputed.js';
import type { ModelMetadata } from './saved-model.js';
import { baseModel } from '../model/introspect.js';

export interface TrainOptions extends RasterOptions {
  /** Global pooling at the base's end (Keras's `pooling`); the default head then has no `gap`. */
  pooling?: 'avg' | 'max';
  /** Features computed beforehand (`trainFromFeatures`): the dataset and the head's inputs come from them. */
  precomputed?: PrecomputedFeatures;
  base: string;
  alpha?: number;
  /** 'imagenet' (default), null for random weights, or a Keras .h5 file. */
  weights?: 'imagenet' | null | string;
  /** Images are resized to inputSize × inputSize (default: the base's own size). */
  inputSize?: number;
  strategy?: Strategy;
  /** For fine-tune: the first layer to train in the second phase (see `transferkit layers`). */
  unfreezeFrom?: string;
  /** Head spec; default `gap, dropout:0.2, dense:1:sigmoid` (two classes) or `…dense:N:softmax`. */
  head?: string;
  epochs?: number;
  /** Epochs of fine-tune's second phase (default: epochs). */
  fineTuneEpochs?: number;
  batchSize?: number;
  learningRate?: number;
  optimizer?: 'adam' | 'sgd' | 'rmsprop';
  validationSplit?: number;
  seed?: number;
  /** Stop a phase after this many epochs without a lower validation loss (Keras's EarlyStopping). */
  earlyStoppingPatience?: number;
  /** End each phase with the weights of its best validation loss (Keras's restore_best_weights). */
  restoreBest?: boolean;
  /** Divide the learning rate by 10 after this many epochs without a lower validation loss (ReduceLROnPlateau). */
  reduceLrPatience?: number;
  /** Random flips, rotations, … of the training images (the frozen part then runs on every batch). */
  augment?: AugmentSpec;
  /** Keep the frozen part's outputs in memory (default) or in $TRANSFERKIT_HOME/cache, reused by later runs. */
  featureCache?: 'memory' | 'disk';
  /** Regression: the loss (default mse). */
  regressionLoss?: 'mse' | 'mae';
  /** Engine for every forward pass and step (default: ONNX Runtime when it loads, else tfjs-wasm). */
  engine?: EngineName;
  onEvent?(event: TrainEvent): void;
  /** Stops training after the current batch (Ctrl-C): the result keeps the last complete epoch's weights. */
  signal?: AbortSignal;
}

export type TrainEvent =
  | { type: 'notice'; message: string }
  | { type: 'features'; phase: number; done: number; total: number }
  | { type: 'batch'; phase: number; epoch: number; epochs: number; batch: number; batches: number; loss: number }
  | ({ type: 'epoch'; phase: number; epochs: number } & EpochLog);

export type Task = 'binary' | 'categorical' | 'regression';

export interface EpochLog {
  epoch: number;
  loss: number;
  /** Classification: the fraction right; null for regression. */
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  /** Regression: mean absolute and root-mean-square error. */
  mae?: number;
  rmse?: number;
  valMae?: number | null;
  valRmse?: number | null;
}

export interface TrainResult {
  model: tfl.LayersModel;
  task: Task;
  /** Empty for regression. */
  classNames: string[];
  strategy: Strategy;
  head: string;
  inputShape: [number, number, number];
  history: Array<EpochLog & { phase: number; trainedFrom: string }>;
  val: { loss: number | null; accuracy: number | null; mae?: number | null; rmse?: number | null };
  skipped: SkippedFile[];
  emptyClasses: string[];
  timings: { featuresS: number; trainS: number; totalS: number };
  counts: { train: number; validation: number };
  /** Rows of the frozen part's outputs read back from the disk cache instead of computed. */
  cacheHits: number;
  /** Multi-band rasters: the bands trained on, their scaling and the base's adaptation. */
  bands?: RasterPlan & { firstConv: string };
  /** Set when training ended early (interrupted, or a loss that is not a number): why, and the weights kept. */
  stopped?: { reason: string; phase: number; keptEpoch: number };
}

interface Phase {
  /** First trained layer: its input is cached. */
  from: string;
  strategy: Strategy;
  epochs: number;
  lr: number;
}

/** Targets for a batch: the value (regression), one 0/1 column (two classes) or one-hot rows. */
function targets(labels: number[], task: Task, classes: number): Float32Array {
  if (task !== 'categorical') return Float32Array.from(labels);
  const y = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => (y[i * classes + l] = 1));
  return y;
}

/** Sums over a pass: right answers (classification) or absolute and squared errors (regression). */
class Tally {
  n = 0;
  loss = 0;
  right = 0;
  abs = 0;
  sq = 0;

  constructor(
    private readonly task: Task,
    private readonly classes: number,
  ) {}

  add(loss: number, output: Float32Array, labels: number[]): void {
    this.n += labels.length;
    this.loss += loss * labels.length;
    labels.forEach((l, i) => {
      if (this.task === 'regression') {
        this.abs += Math.abs(output[i] - l);
        this.sq += (output[i] - l) ** 2;
      } else if (this.task === 'binary') this.right += (output[i] >= 0.5 ? 1 : 0) === l ? 1 : 0;
      else {
        const row = output.subarray(i * this.classes, (i + 1) * this.classes);
        this.right += row.indexOf(Math.max(...row)) === l ? 1 : 0;
      }
    });
  }

  get meanLoss(): number {
    return this.loss / this.n;
  }

  metrics(): { accuracy: number | null; mae?: number; rmse?: number } {
    if (this.task !== 'regression') return { accuracy: this.right / this.n };
    return { accuracy: null, mae: this.abs / this.n, rmse: Math.sqrt(this.sq / this.n) };
  }
}

const optimizerSpec = (name: TrainOptions['optimizer']): OptimizerSpec =>
  name === 'sgd' ? { name: 'sgd', momentum: 0.9 } : name === 'rmsprop' ? { name: 'rmsprop' } : { name: 'adam' };

interface Context {
  model: tfl.LayersModel;
  o: TrainOptions;
  skipped: SkippedFile[];
  size: number;
  source: PixelSource;
  /** What, besides the model and the images, decides the cached rows. */
  cacheExtra: object;
  /** The base's digest for this phase's disk-cache keys (computed once per phase). */
  digest?: string;
}

const noteSkips = (c: Context, more: SkippedFile[]) => {
  for (const s of more) if (!c.skipped.some((k) => k.file === s.file)) c.skipped.push(s);
};

/** The frozen part's output (the input of layer `from`) for each image, computed once, or read from the disk cache. */
async function cacheFeatures(c: Context, files: LabelledFile[], from: string, phase: number): Promise<{ store: FeatureStore; hit: boolean }> {
  const onProgress = (done: number, total: number) => c.o.onEvent?.({ type: 'features', phase, done, total });
  if (c.o.precomputed) {
    const r = c.o.precomputed.store(c.model, files, from);
    noteSkips(c, r.skipped);
    onProgress(files.length, files.length);
    return { store: r.store, hit: false };
  }
  const run = (sink: (rows: Float32Array) => Promise<void>) => extractFeatures(c.model, files, sink, { engine: c.o.engine, until: from, batchSize: 64, source: c.source, onProgress });
  if (c.o.featureCache === 'disk') {
    c.digest ??= modelDigest(baseModel(c.model));
    const key = await featureKey(c.digest, from, files, c.cacheExtra);
    const cached = await loadDiskStore(key, files);
    if (cached) {
      noteSkips(c, cached.skipped);
      onProgress(files.length, files.length);
      return { store: cached.store, hit: true };
    }
    const writer = new DiskStoreWriter(key);
    try {
      const result = await run((rows) => writer.append(rows));
      noteSkips(c, result.skipped);
      const meta = { files: result.files, rowSize: result.featureShape.reduce((a, b) => a * b, 1), skipped: result.skipped };
      return { store: await writer.finish(meta, files), hit: false };
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }
  const chunks: Float32Array[] = [];
  const result = await run(async (rows) => void chunks.push(rows));
  noteSkips(c, result.skipped);
  const rowSize = result.featureShape.reduce((a, b) => a * b, 1);
  const rows = new Float32Array(result.labels.length * rowSize);
  let offset = 0;
  for (const chunk of chunks) {
    rows.set(chunk, offset);
    offset += chunk.length;
  }
  return { store: memoryStore(rows, rowSize, result.labels), hit: false };
}

/** A batch for the trainer: the trained part's input and the labels. */
interface Batch {
  x: Float32Array;
  labels: number[];
}

/** One epoch of shuffled batches from cached rows. */
async function* cachedBatches(store: FeatureStore, batch: number, random: () => number): AsyncGenerator<Batch> {
  const order = shuffled(Array.from({ length: store.labels.length }, (_, i) => i), random);
  for (let s = 0; s < order.length; s += batch) {
    const idx = order.slice(s, s + batch);
    const x = new Float32Array(idx.length * store.rowSize);
    await store.read(idx, x);
    yield { x, labels: idx.map((k) => store.labels[k]) };
  }
}

/** One epoch of augmented batches: decoded, transformed, then through the frozen part (if any) every time. */
async function* augmentedBatches(c: Context, files: LabelledFile[], prefix: Predictor | null, batch: number, random: () => number): AsyncGenerator<Batch> {
  const order = shuffled(files, random);
  const load = (s: number) =>
    loadImageBatch(order.slice(s, s + batch), { height: c.size, width: c.size, source: c.source, augment: { spec: c.o.augment as AugmentSpec, random } });
  let next = load(0);
  for (let s = 0; s < order.length; s += batch) {
    const b = await next;
    next = load(s + batch);
    noteSkips(c, b.skipped);
    if (!b.items.length) continue;
    yield { x: prefix ? await prefix.predict(b.x, b.items.length) : b.x, labels: b.items.map((f) => f.label) };
  }
}

async function evaluateStore(trainer: Trainer, data: FeatureStore, task: Task, classes: number, batch: number): Promise<Tally> {
  const tally = new Tally(task, classes);
  const x = new Float32Array(batch * data.rowSize);
  for (let s = 0; s < data.labels.length; s += batch) {
    const idx = Array.from({ length: Math.min(batch, data.labels.length - s) }, (_, i) => s + i);
    await data.read(idx, x);
    const labels = idx.map((k) => data.labels[k]);
    const r = await trainer.evaluate(x.subarray(0, idx.length * data.rowSize), targets(labels, task, classes), labels.length);
    tally.add(r.loss, r.output, labels);
  }
  return tally;
}

/** The dataset: a folder of class folders, or a CSV of file,target rows (regression). */
async function listDataset(data: string, emit: (e: TrainEvent) => void): Promise<{ task: Task; classNames: string[]; files: LabelledFile[]; skipped: SkippedFile[]; emptyClasses: string[] }> {
  if (data.toLowerCase().endsWith('.csv')) return { task: 'regression', classNames: [], emptyClasses: [], ...(await readTargetsCsv(data)) };
  const folder = await listImageFolder(data, { minClasses: 2 });
  for (const c of folder.emptyClasses) emit({ type: 'notice', message: `class folder '${c}' has no images` });
  return { task: folder.classNames.length === 2 ? 'binary' : 'categorical', ...folder };
}

/** What the head must end in for the task. */
function outputLayer(task: Task, classes: number): { units: number; activation: string } {
  return task === 'regression' ? { units: 1, activation: 'linear' } : task === 'binary' ? { units: 1, activation: 'sigmoid' } : { units: classes, activation: 'softmax' };
}

/**
 * Builds the base and head, trains by the strategy's phases, and returns the trained model with its history.
 * `data` is a folder of class folders (classification) or a CSV of file,target rows (regression).
 */
export async function trainImageClassifier(data: string, o: TrainOptions): Promise<TrainResult> {
  const start = performance.now();
  const emit = (e: TrainEvent) => o.onEvent?.(e);
  const strategy = o.strategy ?? 'feature-extraction';
  const epochs = o.epochs ?? 10;
  const batch = o.batchSize ?? 32;
  const lr = o.learningRate ?? 1e-3;
  for (const [name, v, ok] of [
    ['epochs', epochs, Number.isInteger(epochs) && epochs > 0],
    ['batch size', batch, Number.isInteger(batch) && batch > 0],
    ['learning rate', lr, Number.isFinite(lr) && lr > 0],
  ] as const) {
    if (!ok) throw new TransferkitError(`${name} must be a positive ${name === 'learning rate' ? 'number' : 'integer'}; got ${v}`);
  }
  if (strategy === 'fine-tune' && !o.unfreezeFrom) throw new TransferkitError('the fine-tune strategy needs the layer to unfreeze from (--unfreeze-from LAYER; see transferkit layers)');

  const dataset = o.precomputed ? o.precomputed.dataset : await listDataset(data, emit);
  const { task, classNames } = dataset;
  await initBackend();
  const classes = classNames.length;
  const { train, validation } = splitFiles(dataset.files, o.validationSplit ?? 0.2, o.seed ?? 1337);

  const spec = getApplication(o.base).spec;
  const size = o.inputSize ?? spec.defaultSize;
  const raster = await planRasters(dataset.files, train, o, (message) => emit({ type: 'notice', message }));
  const buildArgs = { weights: o.weights === undefined ? 'imagenet' : o.weights, includeTop: false, inputShape: [size, size, 3] as [number, number, number], ...(o.pooling ? { pooling: o.pooling } : {}), ...(o.alpha !== undefined ? { alpha: o.alpha } : {}) };
  const adapted = raster ? await buildBandBase(o.base, buildArgs, raster.roles, raster.adaptation, o.seed ?? 1337) : null;
  const base = adapted ? adapted.base : await getApplication(o.base).build(buildArgs);
  const source = raster ? rasterSource(spec.preprocessing, raster) : photoSource(spec.preprocessing);
  // A first convolution with new band slices trains in every phase: the base then runs on every batch.
  const newFirstConv = raster && raster.adaptation !== 'rgb' ? (adapted as { firstConv: string }).firstConv : null;
  if (newFirstConv) emit({ type: 'notice', message: `band adaptation ${raster?.adaptation} over ${raster?.indices.length} bands: ${newFirstConv} has new weights and trains in every phase, so the whole base runs on every batch` });
  const advice = smallInputAdvice(base);
  if (advice) emit({ type: 'notice', message: advice });
  const want = outputLayer(task, classes);
  const head = o.head ?? `${o.pooling ? '' : 'gap, '}dropout:0.2, dense:${want.units}:${want.activation}`;
  const last = parseHeadSpec(head).at(-1);
  if (last?.type !== 'dense' || last.units !== want.units || last.activation !== want.activation) {
    const what = task === 'regression' ? 'regression (one linear output)' : `${classes} classes (${classNames.join(', ')})`;
    throw new TransferkitError(`the head must end in dense:${want.units}:${want.activation} for ${what}; got '${head}'`);
  }
  const loss = task === 'regression' ? (o.regressionLoss ?? 'mse') : task === 'binary' ? 'binary_crossentropy' : 'categorical_crossentropy';
  const model = addHead(base, head, { seed: o.seed ?? 1337 });
  const firstHead = model.layers[1].name;
  const firstBase = baseModel(model).layers.find((l) => l.getClassName() !== 'InputLayer')?.name as string;
  // fastai's and Keras's recipe: the head first on a frozen base, then the unfrozen layers at a tenth of the rate.
  const planned: Phase[] =
    strategy === 'full'
      ? [{ from: firstBase, strategy, epochs, lr }]
      : strategy === 'feature-extraction'
        ? [{ from: firstHead, strategy, epochs, lr }]
        : [
            { from: firstHead, strategy: 'feature-extraction', epochs, lr },
            { from: o.unfreezeFrom as string, strategy: 'fine-tune', epochs: o.fineTuneEpochs ?? epochs, lr: lr / 10 },
          ];
  const phases = planned.map((ph) => (newFirstConv ? { ...ph, from: firstBase } : ph));
  if (o.augment) emit({ type: 'notice', message: `augmenting training images (${describeAugment(o.augment)}): the frozen part runs on every training batch, since its outputs change with each draw` });

  const c: Context = { model, o, skipped: [...dataset.skipped], size, source, cacheExtra: { size, preprocessing: spec.preprocessing, bands: raster } };
  const history: TrainResult['history'] = [];
  let featuresS = 0;
  let trainS = 0;
  let cacheHits = 0;
  let val: TrainResult['val'] = { loss: null, accuracy: null };
  const random = seededRandom((o.seed ?? 1337) + 1);
  let stopped: TrainResult['stopped'];
  for (const [p, phase] of phases.entries()) {
    if (stopped) break;
    // The base may have trained in the phase before: its digest is taken afresh.
    c.digest = undefined;
    applyStrategy(model, phase.strategy, phase.strategy === 'fine-tune' ? o.unfreezeFrom : undefined);
    if (newFirstConv) baseModel(model).getLayer(newFirstConv).trainable = true;
    let t = performance.now();
    const cached = async (files: LabelledFile[]) => {
      const r = await cacheFeatures(c, files, phase.from, p);
      if (r.hit) cacheHits += r.store.labels.length;
      return r.store;
    };
    const trainData = o.augment ? null : await cached(train);
    const prefix = o.augment && phase.from !== firstBase ? await createPredictor(model, { engine: o.engine, until: phase.from }) : null;
    const valData = validation.length ? await cached(validation) : null;
    featuresS += (performance.now() - t) / 1000;
    if (trainData?.labels.length === 0) throw new TransferkitError(`${data}: no training image could be decoded`);
    t = performance.now();
    const trainer = await createTrainer(model, { engine: o.engine, from: phase.from, loss, optimizer: optimizerSpec(o.optimizer), seed: o.seed });
    try {
      const n = trainData ? trainData.labels.length : train.length;
      const batches = Math.ceil(n / batch);
      let lr = phase.lr;
      let best: { loss: number; epoch: number; weights?: Float32Array[] } = { loss: Infinity, epoch: 0 };
      // The weights at the end of the last complete epoch: what an interrupted or diverged run keeps.
      let lastGood = { epoch: 0, weights: trainer.snapshot() };
      let sinceBest = 0;
      let sinceReduce = 0;
      for (let epoch = 1; epoch <= phase.epochs; epoch++) {
        const tally = new Tally(task, classes);
        let b = 0;
        for await (const { x, labels } of trainData ? cachedBatches(trainData, batch, random) : augmentedBatches(c, train, prefix, batch, random)) {
          const r = await trainer.step(x, targets(labels, task, classes), labels.length, lr);
          if (!Number.isFinite(r.loss)) stopped = { reason: `the loss became ${r.loss} in epoch ${epoch}: lower the learning rate (--learning-rate)`, phase: p, keptEpoch: lastGood.epoch };
          else if (o.signal?.aborted) stopped = { reason: `interrupted in epoch ${epoch}`, phase: p, keptEpoch: lastGood.epoch };
          if (stopped) break;
          tally.add(r.loss, r.output, labels);
          emit({ type: 'batch', phase: p, epoch, epochs: phase.epochs, batch: ++b, batches, loss: tally.meanLoss });
        }
        if (stopped) {
          trainer.restore(lastGood.weights);
          break;
        }
        if (tally.n === 0) throw new TransferkitError(`${data}: no training image could be decoded`);
        const v = valData ? await evaluateStore(trainer, valData, task, classes, batch) : null;
        if (v && !Number.isFinite(v.meanLoss)) {
          stopped = { reason: `the validation loss became ${v.meanLoss} in epoch ${epoch}: lower the learning rate (--learning-rate)`, phase: p, keptEpoch: lastGood.epoch };
          trainer.restore(lastGood.weights);
          break;
        }
        const m = tally.metrics();
        const vm = v?.metrics();
        const log: EpochLog = {
          epoch,
          loss: tally.meanLoss,
          accuracy: m.accuracy,
          valLoss: v ? v.meanLoss : null,
          valAccuracy: vm?.accuracy ?? null,
          ...(task === 'regression' ? { mae: m.mae, rmse: m.rmse, valMae: vm?.mae ?? null, valRmse: vm?.rmse ?? null } : {}),
        };
        history.push({ ...log, phase: p, trainedFrom: phase.from });
        lastGood = { epoch, weights: trainer.snapshot() };
        val = { loss: log.valLoss, accuracy: log.valAccuracy, ...(task === 'regression' ? { mae: log.valMae, rmse: log.valRmse } : {}) };
        emit({ type: 'epoch', phase: p, epochs: phase.epochs, ...log });
        // Callbacks, on the validation loss.
        if (log.valLoss === null) continue;
        if (log.valLoss < best.loss) {
          best = { loss: log.valLoss, epoch, weights: o.restoreBest ? trainer.snapshot() : undefined };
          sinceBest = 0;
          sinceReduce = 0;
          continue;
        }
        sinceBest++;
        sinceReduce++;
        if (o.reduceLrPatience && sinceReduce >= o.reduceLrPatience) {
          lr /= 10;
          sinceReduce = 0;
          emit({ type: 'notice', message: `validation loss flat for ${o.reduceLrPatience} epoch(s): learning rate now ${lr}` });
        }
        if (o.earlyStoppingPatience && sinceBest >= o.earlyStoppingPatience) {
          emit({ type: 'notice', message: `early stopping after epoch ${epoch}: no lower validation loss for ${sinceBest} epoch(s)` });
          break;
        }
      }
      if (best.weights && !stopped) {
        trainer.restore(best.weights);
        const kept = history.find((h) => h.phase === p && h.epoch === best.epoch);
        val = { loss: best.loss, accuracy: kept?.valAccuracy ?? null, ...(task === 'regression' ? { mae: kept?.valMae, rmse: kept?.valRmse } : {}) };
        emit({ type: 'notice', message: `restored the weights of epoch ${best.epoch} (validation loss ${best.loss.toFixed(4)})` });
      }
      trainer.writeBack();
    } finally {
      await trainer.dispose();
      await prefix?.dispose();
      await trainData?.close();
      await valData?.close();
    }
    trainS += (performance.now() - t) / 1000;
  }
  return {
    model,
    task,
    classNames,
    strategy,
    head,
    inputShape: [size, size, raster ? raster.indices.length : 3],
    history,
    val,
    skipped: c.skipped,
    emptyClasses: dataset.emptyClasses,
    timings: { featuresS, trainS, totalS: (performance.now() - start) / 1000 },
    counts: { train: train.length, validation: validation.length },
    cacheHits,
    ...(stopped ? { stopped } : {}),
    ...(raster && adapted ? { bands: { ...raster, firstConv: adapted.firstConv } } : {}),
  };
}

/** What a trained model's transferkit.json records: everything needed to use it, and how it was made. */
export function trainedModelMetadata(r: TrainResult, o: TrainOptions, data: string): ModelMetadata {
  const spec = getApplication(o.base).spec;
  return {
    format: 'transferkit-model',
    version: 1,
    base: { id: spec.id, ...(o.alpha !== undefined ? { alpha: o.alpha } : {}), weights: o.weights === undefined ? 'imagenet' : o.weights },
    inputShape: r.inputShape,
    preprocessing: spec.preprocessing,
    classNames: r.classNames,
    task: r.task,
    head: r.head,
    strategy: r.strategy,
    training: { ...o, onEvent: undefined, signal: undefined, precomputed: o.precomputed?.file },
    history: r.history,
    val: r.val,
    dataset: { dir: path.resolve(data), train: r.counts.train, validation: r.counts.validation, skipped: r.skipped.length },
    ...(r.bands ? { bands: { indices: r.bands.indices, roles: r.bands.roles, scale: r.bands.scale, adaptation: r.bands.adaptation, firstConv: r.bands.firstConv, ...(r.bands.names ? { names: r.bands.names } : {}) } } : {}),
  };
}
