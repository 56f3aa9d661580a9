// Feature extraction in the page with Node's code: the same head, phase plan, compiled training step (ONNX
// Runtime Web runs the graph onnxruntime-node runs), epoch loop, callbacks and validation scoring. Only the
// images' source differs: picked files decoded by the browser, their base features kept in memory.
import type * as tfl from '@tensorflow/tfjs-layers';
import { applicationInfo } from '../applications/common.js';
import { splitFiles } from '../data/split.js';
import { optimizerSpec } from '../engine/optimizers.js';
import { createPredictor } from '../engine/predictor.js';
import { createTrainer } from '../engine/trainer.js';
import { baseModel } from '../model/introspect.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_SEED, DEFAULT_THRESHOLD, DEFAULT_VALIDATION_SPLIT } from '../train/defaults.js';
import { classificationReport } from '../train/evaluate/metrics.js';
import { cachedBatches } from '../train/features/batches.js';
import { type FeatureStore, memoryStore } from '../train/features/memory-store.js';
import { evaluateStore, runEpochs } from '../train/fit/epoch-loop.js';
import type { TrainOptions, TrainResult } from '../train/fit/options.js';
import { planPhases } from '../train/fit/phase-plan.js';
import { DEFAULT_HEAD_DROPOUT, addHead } from '../train/model/head.js';
import { lossOf, outputLayer } from '../train/model/task-output.js';
import { seededRandom } from '../util/random.js';
import { type PickedFolder, loadBatch } from './images.js';

/** The options a page sets: Node's, less those about files, engines and fine-tuning. */
export type BrowserTrainOptions = Pick<
  TrainOptions,
  'seed' | 'validationSplit' | 'batchSize' | 'epochs' | 'maxEpochs' | 'schedule' | 'onEvent' | 'signal' | 'callbacks' | 'earlyStoppingPatience' | 'restoreBest'
> & { learningRate?: number };

export interface BrowserTrainResult extends Pick<TrainResult, 'classNames' | 'task' | 'history' | 'val' | 'counts'> {
  /** The base with its trained head. */
  model: tfl.Sequential;
  timings: { featuresS: number; trainS: number };
}

/** The base's output for each picked file, in batches, into a store in memory. */
async function features(
  model: tfl.LayersModel,
  from: string,
  folder: PickedFolder,
  files: PickedFolder['files'],
  batch: number,
  progress: (done: number) => void,
): Promise<FeatureStore> {
  const size = model.inputs[0].shape[1] as number;
  const mode = applicationInfo(baseModel(model))?.spec.preprocessing ?? 'none';
  const predictor = await createPredictor(model, { engine: 'ort', until: from });
  try {
    const rowSize = predictor
      .outputShape(1)
      .slice(1)
      .reduce((a, b) => a * b, 1);
    const rows = new Float32Array(files.length * rowSize);
    for (let s = 0; s < files.length; s += batch) {
      const part = files.slice(s, s + batch);
      const x = await loadBatch(
        part.map((f) => folder.blobs.get(f.file) as Blob),
        size,
        mode,
      );
      rows.set(await predictor.predict(x, part.length), s * rowSize);
      progress(s + part.length);
    }
    return memoryStore(
      rows,
      rowSize,
      files.map((f) => f.label),
    );
  } finally {
    await predictor.dispose();
  }
}

/**
 * Trains a new head on the frozen `base` over the picked folder: Node's split (the same seed holds out the same
 * images), Node's default head and phase plan, and the validation split scored at the end.
 */
export async function trainFeatureExtraction(base: tfl.LayersModel, folder: PickedFolder, o: BrowserTrainOptions = {}): Promise<BrowserTrainResult> {
  const emit = (e: Parameters<NonNullable<TrainOptions['onEvent']>>[0]) => o.onEvent?.(e);
  const { classNames } = folder;
  const classes = classNames.length;
  const task = classes === 2 ? 'binary' : 'categorical';
  const { train, validation } = splitFiles(folder.files, o.validationSplit ?? DEFAULT_VALIDATION_SPLIT, o.seed ?? DEFAULT_SEED, 'the picked folder');
  const want = outputLayer(task, classes);
  const model = addHead(base, `gap, dropout:${DEFAULT_HEAD_DROPOUT.zoo}, dense:${want.units}:${want.activation}`, { seed: o.seed ?? DEFAULT_SEED });
  const firstBase = base.layers.find((l) => l.getClassName() !== 'InputLayer')?.name as string;
  const options: TrainOptions = { ...o, base: base.name, strategy: 'feature-extraction' };
  const [phase] = planPhases(
    options,
    { firstHead: model.layers[1].name, firstBase, newFirstConv: null },
    { train: train.length, validation: validation.length },
  );
  const batch = o.batchSize ?? DEFAULT_BATCH_SIZE;
  const t0 = performance.now();
  const total = train.length + validation.length;
  const progress = (offset: number) => (done: number) => emit({ type: 'features', phase: 0, done: offset + done, total });
  const trainData = await features(model, phase.from, folder, train, batch, progress(0));
  const valData = validation.length ? await features(model, phase.from, folder, validation, batch, progress(train.length)) : null;
  const t1 = performance.now();
  const trainer = await createTrainer(model, { engine: 'ort', from: phase.from, loss: lossOf(task, {}), optimizer: optimizerSpec(undefined), seed: o.seed });
  try {
    const random = seededRandom((o.seed ?? DEFAULT_SEED) + 1);
    const outcome = await runEpochs({
      trainer,
      phase: { ...phase, lr: phase.lr as number },
      index: 0,
      batches: () => cachedBatches(trainData, batch, random),
      count: train.length,
      valData,
      task,
      classes,
      batchSize: batch,
      o: options,
      emit,
      data: 'the picked folder',
    });
    let val: TrainResult['val'] = { loss: null, accuracy: null };
    if (valData && outcome.history.length) {
      const v = await evaluateStore(trainer, valData, task, classes, batch);
      const report = classificationReport(v.outputs, v.labels, classNames, task === 'binary' ? DEFAULT_THRESHOLD : undefined);
      val = { loss: v.tally.meanLoss, accuracy: report.accuracy, report };
    }
    trainer.writeBack();
    return {
      model,
      classNames,
      task,
      history: outcome.history.map((h) => ({ ...h, phase: 0, trainedFrom: phase.trainedFrom })),
      val,
      counts: { train: train.length, validation: validation.length },
      timings: { featuresS: (t1 - t0) / 1000, trainS: (performance.now() - t1) / 1000 },
    };
  } finally {
    await trainer.dispose();
  }
}
