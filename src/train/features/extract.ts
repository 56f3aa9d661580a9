import type * as tfl from '@tensorflow/tfjs-layers';
import { applicationInfo } from '../../applications/common.js';
import { type PixelSource, loadImageBatch, photoSource } from '../../data/batches.js';
import type { Interpolation } from '../../data/decode.js';
import type { DecodePool } from '../../data/decode-pool.js';
import type { LabelledFile, SkippedFile } from '../../data/folders.js';
import { TransferkitError } from '../../errors.js';
import { type EngineName, type Predictor, createPredictor } from '../../engine/predictor.js';
import { baseModel } from '../../model/introspect.js';

/**
 * ImageNet bases see little in tiny images: MobileNet (alpha 0.25) features of 32×32 inputs are ~97% zeros,
 * and upscaling CIFAR-10 to 96×96 gave ~20 points more transfer accuracy. Returns the advice, or null.
 */
export function smallInputAdvice(model: tfl.LayersModel): string | null {
  const info = applicationInfo(model);
  const size = model.inputs[0].shape[1];
  if (!info || info.args.weights === null || size === null || size >= 64) return null;
  return `inputs of ${size}x${size} are small for ImageNet features (${info.spec.name} was trained at ${info.spec.defaultSize}); upscaling them, e.g. --input-size 96, usually transfers much better`;
}

/** Images per batch when the options do not say. */
const BATCH_SIZE = 32;

export interface ExtractOptions {
  engine?: EngineName;
  batchSize?: number;
  /** Stop before this layer (features of a frozen prefix). */
  until?: string;
  interpolation?: Interpolation;
  /** How files become pixels (default: photos with the base's preprocessing). */
  source?: PixelSource;
  /** Called after each batch with the images done so far. */
  onProgress?(done: number, total: number): void;
}

export interface ExtractResult {
  /** Files whose features were written, in order, and their labels. */
  files: string[];
  labels: number[];
  /** Shape of one image's features. */
  featureShape: number[];
  /** Images that could not be decoded (counted, not fatal). */
  skipped: SkippedFile[];
  engine: EngineName;
}

/**
 * Runs the model (built by `applications.*`, with or without a head) over images, batch by batch: decoded and
 * resized to the model's input, preprocessed as the base needs, and handed to `sink` in file order. Memory stays
 * at one batch, whatever the number of images. Undecodable images are skipped and reported.
 */
export async function extractFeatures(
  model: tfl.LayersModel,
  files: LabelledFile[],
  sink: (rows: Float32Array, n: number) => Promise<void>,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const info = applicationInfo(model) ?? applicationInfo(baseModel(model));
  const source = options.source ?? (info ? photoSource(info.spec.preprocessing, { interpolation: options.interpolation }) : undefined);
  if (!source) throw new TransferkitError(`model ${model.name} was not built by transferkit's applications: its preprocessing is unknown`);
  const [, height, width] = model.inputs[0].shape;
  if (height === null || width === null) throw new TransferkitError(`model ${model.name} needs a fixed input size for extraction; build it with inputShape`);
  const predictor = await createPredictor(model, { engine: options.engine, until: options.until, batchSize: options.batchSize ?? BATCH_SIZE });
  try {
    return await runOverImages(predictor, files, sink, { ...options, height, width, source });
  } finally {
    await predictor.dispose();
  }
}

/**
 * Runs a predictor over images in file order, batch by batch (an imported ONNX base, or a compiled model):
 * decoded, resized to height × width, read by `source`, and handed to `sink`. The predictor stays open.
 */
export async function runOverImages(
  predictor: Predictor,
  files: LabelledFile[],
  sink: (rows: Float32Array, n: number) => Promise<void>,
  options: {
    height: number;
    width: number;
    source: PixelSource;
    batchSize?: number;
    onProgress?(done: number, total: number): void;
    /** Threads that decode the next batch while this one runs through the model (ORT's run blocks this thread). */
    pool?: DecodePool;
  },
): Promise<ExtractResult> {
  const { height, width, source, pool } = options;
  const batchSize = options.batchSize ?? BATCH_SIZE;
  const done: ExtractResult = { files: [], labels: [], featureShape: predictor.outputShape(1).slice(1), skipped: [], engine: predictor.engine };
  const decodeBatch = (start: number) => loadImageBatch(files.slice(start, start + batchSize), { height, width, source, pool });
  // The next batch decodes while this one runs through the model: in the pool's threads, or on libuv's threads
  // where sharp decodes (the wasm JPEG path runs on this thread, between the model's runs).
  let next = decodeBatch(0);
  for (let start = 0; start < files.length; start += batchSize) {
    const batch = await next;
    next = decodeBatch(start + batchSize);
    done.skipped.push(...batch.skipped);
    if (batch.items.length > 0) {
      await sink(await predictor.predict(batch.x, batch.items.length), batch.items.length);
      for (const img of batch.items) {
        done.files.push(img.file);
        done.labels.push(img.label);
      }
    }
    options.onProgress?.(Math.min(start + batchSize, files.length), files.length);
  }
  return done;
}
