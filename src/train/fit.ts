// The seed's workflow in one function: a folder of labelled images in, a trained, evaluated classifier out.
// Each phase trains what its strategy unfreezes; what stays frozen in front of it is computed once per image
// and cached (Keras recomputes it every epoch), then only the trained part runs, in ONNX Runtime.
import type * as tfl from '@tensorflow/tfjs-layers';
import { getApplication } from '../applications/index.js';
import { type ImageFolder, type LabelledFile, type SkippedFile, listImageFolder } from '../data/folders.js';
import { splitFiles } from '../data/split.js';
import type { OptimizerSpec } from '../engine/onnx/train.js';
import { initBackend } from '../engine/backend.js';
import { OrtTrainer } from '../engine/trainer.js';
import { TransferkitError } from '../errors.js';
import { seededRandom, shuffled } from '../util/random.js';
import { extractFeatures, smallInputAdvice } from './extract.js';
import { addHead, parseHeadSpec } from './head.js';
import { type Strategy, applyStrategy } from './strategies.js';
import { baseModel } from './trainable.js';

export interface TrainOptions {
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
  onEvent?(event: TrainEvent): void;
}

export type TrainEvent =
  | { type: 'notice'; message: string }
  | { type: 'features'; phase: number; done: number; total: number }
  | { type: 'batch'; phase: number; epoch: number; epochs: number; batch: number; batches: number; loss: number }
  | ({ type: 'epoch'; phase: number; epochs: number } & EpochLog);

export interface EpochLog {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
}

export interface TrainResult {
  model: tfl.LayersModel;
  classNames: string[];
  strategy: Strategy;
  head: string;
  inputShape: [number, number, number];
  history: Array<EpochLog & { phase: number; trainedFrom: string }>;
  val: { loss: number | null; accuracy: number | null };
  skipped: SkippedFile[];
  emptyClasses: string[];
  timings: { featuresS: number; trainS: number; totalS: number };
  counts: { train: number; validation: number };
}

interface Phase {
  /** First trained layer: its input is cached. */
  from: string;
  strategy: Strategy;
  epochs: number;
  lr: number;
}

/** Targets for a batch: one 0/1 column for two classes, one-hot rows otherwise. */
function targets(labels: number[], classes: number): Float32Array {
  if (classes === 2) return Float32Array.from(labels);
  const y = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => (y[i * classes + l] = 1));
  return y;
}

function correct(output: Float32Array, labels: number[], classes: number): number {
  let right = 0;
  labels.forEach((l, i) => {
    if (classes === 2) right += (output[i] >= 0.5 ? 1 : 0) === l ? 1 : 0;
    else {
      const row = output.subarray(i * classes, (i + 1) * classes);
      right += row.indexOf(Math.max(...row)) === l ? 1 : 0;
    }
  });
  return right;
}

const optimizerSpec = (name: TrainOptions['optimizer']): OptimizerSpec =>
  name === 'sgd' ? { name: 'sgd', momentum: 0.9 } : name === 'rmsprop' ? { name: 'rmsprop' } : { name: 'adam' };

/** The cached input of a phase: one row per kept image, with its label. */
interface Cached {
  rows: Float32Array;
  rowSize: number;
  labels: number[];
}

async function cache(model: tfl.LayersModel, files: LabelledFile[], from: string, phase: number, o: TrainOptions, skipped: SkippedFile[]): Promise<Cached> {
  const chunks: Float32Array[] = [];
  const result = await extractFeatures(model, files, async (rows) => void chunks.push(rows), {
    until: from,
    batchSize: 64,
    onProgress: (done, total) => o.onEvent?.({ type: 'features', phase, done, total }),
  });
  for (const s of result.skipped) if (!skipped.some((k) => k.file === s.file)) skipped.push(s);
  const rowSize = result.featureShape.reduce((a, b) => a * b, 1);
  const rows = new Float32Array(result.labels.length * rowSize);
  let offset = 0;
  for (const c of chunks) {
    rows.set(c, offset);
    offset += c.length;
  }
  return { rows, rowSize, labels: result.labels };
}

async function evaluateCached(trainer: OrtTrainer, data: Cached, classes: number, batch: number): Promise<{ loss: number; accuracy: number }> {
  let loss = 0;
  let right = 0;
  for (let s = 0; s < data.labels.length; s += batch) {
    const labels = data.labels.slice(s, s + batch);
    const r = await trainer.evaluate(data.rows.subarray(s * data.rowSize, (s + labels.length) * data.rowSize), targets(labels, classes), labels.length);
    loss += r.loss * labels.length;
    right += correct(r.output, labels, classes);
  }
  return { loss: loss / data.labels.length, accuracy: right / data.labels.length };
}

/** Builds the base and head, trains by the strategy's phases, and returns the trained model with its history. */
export async function trainImageClassifier(dataDir: string, o: TrainOptions): Promise<TrainResult> {
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

  const folder: ImageFolder = await listImageFolder(dataDir, { minClasses: 2 });
  await initBackend();
  for (const c of folder.emptyClasses) emit({ type: 'notice', message: `class folder '${c}' has no images` });
  const classes = folder.classNames.length;
  const { train, validation } = splitFiles(folder.files, o.validationSplit ?? 0.2, o.seed ?? 1337);

  const spec = getApplication(o.base).spec;
  const size = o.inputSize ?? spec.defaultSize;
  const base = await getApplication(o.base).build({ weights: o.weights === undefined ? 'imagenet' : o.weights, includeTop: false, inputShape: [size, size, 3], ...(o.alpha !== undefined ? { alpha: o.alpha } : {}) });
  const advice = smallInputAdvice(base);
  if (advice) emit({ type: 'notice', message: advice });
  const head = o.head ?? `gap, dropout:0.2, ${classes === 2 ? 'dense:1:sigmoid' : `dense:${classes}:softmax`}`;
  const last = parseHeadSpec(head).at(-1);
  const want = classes === 2 ? { units: 1, activation: 'sigmoid' } : { units: classes, activation: 'softmax' };
  if (last?.type !== 'dense' || last.units !== want.units || last.activation !== want.activation) {
    throw new TransferkitError(`the head must end in dense:${want.units}:${want.activation} for ${classes} classes (${folder.classNames.join(', ')}); got '${head}'`);
  }
  const model = addHead(base, head);
  const firstHead = model.layers[1].name;
  const firstBase = baseModel(model).layers.find((l) => l.getClassName() !== 'InputLayer')?.name as string;
  // fastai's and Keras's recipe: the head first on a frozen base, then the unfrozen layers at a tenth of the rate.
  const phases: Phase[] =
    strategy === 'full'
      ? [{ from: firstBase, strategy, epochs, lr }]
      : strategy === 'feature-extraction'
        ? [{ from: firstHead, strategy, epochs, lr }]
        : [
            { from: firstHead, strategy: 'feature-extraction', epochs, lr },
            { from: o.unfreezeFrom as string, strategy: 'fine-tune', epochs: o.fineTuneEpochs ?? epochs, lr: lr / 10 },
          ];

  const skipped: SkippedFile[] = [...folder.skipped];
  const history: TrainResult['history'] = [];
  let featuresS = 0;
  let trainS = 0;
  let val: TrainResult['val'] = { loss: null, accuracy: null };
  const random = seededRandom((o.seed ?? 1337) + 1);
  for (const [p, phase] of phases.entries()) {
    applyStrategy(model, phase.strategy, phase.strategy === 'fine-tune' ? phase.from : undefined);
    let t = performance.now();
    const trainData = await cache(model, train, phase.from, p, o, skipped);
    const valData = validation.length ? await cache(model, validation, phase.from, p, o, skipped) : null;
    featuresS += (performance.now() - t) / 1000;
    if (trainData.labels.length === 0) throw new TransferkitError(`${dataDir}: no training image could be decoded`);
    t = performance.now();
    const trainer = await OrtTrainer.create(model, { from: phase.from, loss: classes === 2 ? 'binary_crossentropy' : 'categorical_crossentropy', optimizer: optimizerSpec(o.optimizer), seed: o.seed });
    try {
      const n = trainData.labels.length;
      const batches = Math.ceil(n / batch);
      const x = new Float32Array(batch * trainData.rowSize);
      let lr = phase.lr;
      let best: { loss: number; epoch: number; weights?: Float32Array[] } = { loss: Infinity, epoch: 0 };
      let sinceBest = 0;
      let sinceReduce = 0;
      for (let epoch = 1; epoch <= phase.epochs; epoch++) {
        const order = shuffled(Array.from({ length: n }, (_, i) => i), random);
        let loss = 0;
        let right = 0;
        for (let b = 0; b < batches; b++) {
          const idx = order.slice(b * batch, (b + 1) * batch);
          idx.forEach((k, i) => x.set(trainData.rows.subarray(k * trainData.rowSize, (k + 1) * trainData.rowSize), i * trainData.rowSize));
          const labels = idx.map((k) => trainData.labels[k]);
          const r = await trainer.step(x.subarray(0, idx.length * trainData.rowSize), targets(labels, classes), idx.length, lr);
          if (!Number.isFinite(r.loss)) throw new TransferkitError(`the loss became ${r.loss} in epoch ${epoch}: lower the learning rate (--learning-rate)`);
          loss += r.loss * idx.length;
          right += correct(r.output, labels, classes);
          emit({ type: 'batch', phase: p, epoch, epochs: phase.epochs, batch: b + 1, batches, loss: loss / Math.min(n, (b + 1) * batch) });
        }
        const v = valData ? await evaluateCached(trainer, valData, classes, batch) : null;
        const log: EpochLog = { epoch, loss: loss / n, accuracy: right / n, valLoss: v?.loss ?? null, valAccuracy: v?.accuracy ?? null };
        history.push({ ...log, phase: p, trainedFrom: phase.from });
        val = { loss: log.valLoss, accuracy: log.valAccuracy };
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
      if (best.weights) {
        trainer.restore(best.weights);
        const kept = history.find((h) => h.phase === p && h.epoch === best.epoch);
        val = { loss: best.loss, accuracy: kept?.valAccuracy ?? null };
        emit({ type: 'notice', message: `restored the weights of epoch ${best.epoch} (validation loss ${best.loss.toFixed(4)})` });
      }
      trainer.writeBack();
    } finally {
      await trainer.dispose();
    }
    trainS += (performance.now() - t) / 1000;
  }
  return {
    model,
    classNames: folder.classNames,
    strategy,
    head,
    inputShape: [size, size, 3],
    history,
    val,
    skipped,
    emptyClasses: folder.emptyClasses,
    timings: { featuresS, trainS, totalS: (performance.now() - start) / 1000 },
    counts: { train: train.length, validation: validation.length },
  };
}
