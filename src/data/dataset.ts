// Keras's `image_dataset_from_directory` for TypeScript: class folders in, shuffled, decoded, resized
// batches out, streamed (one batch in memory at a time).
import { TransferkitError } from '../errors.js';
import { DEFAULT_SEED } from '../util/defaults.js';
import { seededRandom, shuffled } from '../util/random.js';
import { loadImageBatch, photoSource } from './batches.js';
import type { Interpolation } from './decode.js';
import { type LabelledFile, type SkippedFile, listImageFolder } from './folders.js';
import type { PreprocessMode } from './preprocess.js';
import { splitFiles } from './split.js';

/** Keras's `image_dataset_from_directory` options, with Keras's defaults. */
export interface ImageDatasetOptions {
  /** [height, width]; default [256, 256] as in Keras. */
  imageSize?: [number, number];
  batchSize?: number;
  validationSplit?: number;
  /** With validationSplit: which side of the split. */
  subset?: 'training' | 'validation';
  seed?: number;
  /** 'int' (class index), 'categorical' (one-hot), 'binary' (0/1, two classes) or null (no labels). */
  labelMode?: 'int' | 'categorical' | 'binary' | null;
  /** 'rgb' (grayscale images expanded) or 'grayscale' (one channel, colour images converted). */
  colorMode?: 'rgb' | 'grayscale';
  /** Reshuffle every pass (default true, by the seed). */
  shuffle?: boolean;
  interpolation?: Interpolation;
  /** Applied to the pixels (0–255) of every batch; default none, as in Keras. */
  preprocessing?: PreprocessMode;
}

/** One batch: pixels, labels and the files they came from. */
export interface ImageBatchData {
  /** n × height × width × channels, float32, channels last. */
  x: Float32Array;
  shape: [number, number, number, number];
  /** Labels as `labelMode` says (null for labelMode null). */
  y: Float32Array | Int32Array | null;
  files: string[];
}

/** A folder of class folders as batches, iterated with `for await`. */
export interface ImageDataset extends AsyncIterable<ImageBatchData> {
  classNames: string[];
  files: LabelledFile[];
  /** Files found but not images; undecodable images join this list as passes meet them. */
  skipped: SkippedFile[];
  /** Batches per pass. */
  cardinality: number;
}

/** Keras's `image_dataset_from_directory`: a folder of class folders as a seeded, batched, optionally split dataset. */
export async function imageDatasetFromDirectory(dir: string, o: ImageDatasetOptions = {}): Promise<ImageDataset> {
  const [height, width] = o.imageSize ?? [256, 256];
  const batchSize = o.batchSize ?? 32;
  const labelMode = o.labelMode === undefined ? 'int' : o.labelMode;
  const channels = o.colorMode === 'grayscale' ? 1 : 3;
  const seed = o.seed ?? DEFAULT_SEED;
  const folder = await listImageFolder(dir);
  const classes = folder.classNames.length;
  if (labelMode === 'binary' && classes !== 2)
    throw new TransferkitError(`${dir}: labelMode 'binary' needs exactly 2 class folders; found ${classes} (${folder.classNames.join(', ')})`);
  if (o.subset && !o.validationSplit) throw new TransferkitError(`subset '${o.subset}' needs a validationSplit`);
  let files = folder.files;
  if (o.validationSplit) {
    if (!o.subset) throw new TransferkitError("a validationSplit needs subset 'training' or 'validation'");
    const split = splitFiles(files, o.validationSplit, seed, dir);
    files = o.subset === 'validation' ? split.validation : split.train;
  }
  const skipped = [...folder.skipped];
  const random = seededRandom(seed + 2);
  const source = photoSource(o.preprocessing ?? 'none', { channels, interpolation: o.interpolation });
  const labels = (items: LabelledFile[]) => {
    if (labelMode === null) return null;
    if (labelMode === 'int') return Int32Array.from(items, (f) => f.label);
    if (labelMode === 'binary') return Float32Array.from(items, (f) => f.label);
    const y = new Float32Array(items.length * classes);
    items.forEach((f, i) => (y[i * classes + f.label] = 1));
    return y;
  };
  return {
    classNames: folder.classNames,
    files,
    skipped,
    cardinality: Math.ceil(files.length / batchSize),
    async *[Symbol.asyncIterator]() {
      const order = o.shuffle === false ? files : shuffled(files, random);
      for (let s = 0; s < order.length; s += batchSize) {
        const b = await loadImageBatch(order.slice(s, s + batchSize), { height, width, source });
        for (const k of b.skipped) if (!skipped.some((x) => x.file === k.file)) skipped.push(k);
        if (!b.items.length) continue;
        yield { x: b.x, shape: [b.items.length, height, width, channels], y: labels(b.items), files: b.items.map((f) => f.file) };
      }
    },
  };
}
