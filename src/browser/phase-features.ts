// A phase's features in the page: the frozen part (the Keras base up to the phase's first trained layer, or an
// ONNX base's graph up to its features or its cut) run once over the picked files, its rows kept for the epochs.
import type * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessMode } from '../data/preprocess.js';
import type { LabelledFile } from '../data/folders.js';
import { type Predictor, createPredictor } from '../engine/predictor.js';
import type { Trainer } from '../engine/training.js';
import type { FeatureStore } from '../train/features/memory-store.js';
import type { TrainEvent } from '../train/fit/options.js';
import type { Phase, PhaseLayers } from '../train/fit/phase-plan.js';
import { type PickedFolder, loadBatch } from './images.js';
import type { KeptRows } from './kept-features.js';
import type { RunRecorder } from './resume.js';
import { type FeatureCache, rowSink } from './row-sinks.js';

/** The frozen part's output for each picked file, in batches, into a store (in memory, or in a file of the OPFS). */
async function features(
  open: () => Promise<Predictor>,
  folder: PickedFolder,
  files: PickedFolder['files'],
  o: {
    batch: number;
    size: number;
    mode: PreprocessMode;
    cache: FeatureCache;
    progress: (done: number) => void;
    kept?: (rowSize: number) => Promise<KeptRows | undefined>;
  },
): Promise<FeatureStore> {
  const { batch, size, mode } = o;
  const predictor = await open();
  try {
    const rowSize = predictor
      .outputShape(1)
      .slice(1)
      .reduce((a, b) => a * b, 1);
    const kept = await o.kept?.(rowSize);
    const sink = kept ?? (await rowSink(o.cache, rowSize, files.length));
    // A file of the checkpoint folder that a run cut short had completed: the same rows, read back.
    for (let s = kept?.complete ? files.length : 0; s < files.length; s += batch) {
      const part = files.slice(s, s + batch);
      const x = await loadBatch(
        part.map((f) => folder.blobs.get(f.file) as Blob),
        size,
        mode,
      );
      sink.write(await predictor.predict(x, part.length), s);
      o.progress(s + part.length);
    }
    if (kept && !kept.complete) await kept.finish();
    return sink.store(files.map((f) => f.label));
  } finally {
    await predictor.dispose();
  }
}

/** A phase's frozen part and trainer where the base is not a Keras model (an ONNX base's fine-tune: its own graph). */
export interface PhaseRunner {
  /** Raw pixels in, the rows the phase's trainer takes out (disposed by the caller). */
  prefix(): Promise<Predictor>;
  trainer(o: { weighted: boolean; seed?: number }): Promise<Trainer>;
  /** What the phase's trained weights leave outside the Keras model (an ONNX base's fine-tuned suffix). */
  finish?(trainer: Trainer): void;
}

/** What a run trains on: the model (base, or a stand-in, then the head) and how its images are read. */
export interface TrainBase {
  model: tfl.Sequential;
  head: string;
  size: number;
  mode: PreprocessMode;
  layers: PhaseLayers;
  /** What identifies the base in a checkpoint's run key. */
  key: Record<string, unknown>;
  /** The frozen part up to `phase.from` (default: the Keras model's layers, run by ONNX Runtime). */
  prefix?(phase: Phase): Promise<Predictor>;
  /** A phase that does not train the Keras model's layers from `phase.from` (default: Node's createTrainer). */
  runner?(phase: Phase): Promise<PhaseRunner | undefined>;
}

/** The phase's training and validation rows, from the checkpoint folder where a cut-short run kept them. */
export async function phaseFeatures(
  tb: TrainBase,
  phase: Phase & { index: number },
  runner: PhaseRunner | undefined,
  split: { train: LabelledFile[]; validation: LabelledFile[] },
  folder: PickedFolder,
  o: { batch: number; featureStore?: FeatureCache; recorder?: RunRecorder; emit: (e: TrainEvent) => void },
): Promise<{ trainData: FeatureStore; valData: FeatureStore | null }> {
  const { batch, emit } = o;
  const open = () => runner?.prefix() ?? tb.prefix?.(phase) ?? createPredictor(tb.model, { engine: 'ort', until: phase.from });
  const { size, mode } = tb;
  const total = split.train.length + split.validation.length;
  const progress = (offset: number) => (done: number) => emit({ type: 'features', phase: phase.index, done: offset + done, total });
  const cache = o.featureStore ?? 'memory';
  // With checkpoints, in the OPFS: in files kept beside them until the run ends.
  const kept = (part: string, count: number) => async (rowSize: number) => {
    const rows = cache === 'opfs' ? await o.recorder?.featureRows(`${phase.index}-${part}`, rowSize, count) : undefined;
    if (rows?.complete) emit({ type: 'notice', message: `features of the ${count} ${part} images read back from the checkpoint folder` });
    return rows;
  };
  const trainData = await features(open, folder, split.train, { batch, size, mode, cache, progress: progress(0), kept: kept('train', split.train.length) });
  const valData = split.validation.length
    ? await features(open, folder, split.validation, {
        batch,
        size,
        mode,
        cache,
        progress: progress(split.train.length),
        kept: kept('validation', split.validation.length),
      })
    : null;
  return { trainData, valData };
}
