// What the page and its training worker say to each other.
import type { BrowserComparison, BrowserTrainResult, ImageAnswer } from '../../src/browser/index.js';
import type { EpochPoint } from './train-view.js';

/** Page → worker. */
export type ToWorker =
  | {
      type: 'train';
      wasmPaths: string;
      /** The picked weights file (.h5 or .onnx), an ONNX model's picked folder, or the weights' URL (fetched,
       * hash-checked and cached by transferkit.fetchWeights). */
      weights: File | string | Array<{ path: string; file: File }>;
      size: number;
      alpha: number;
      unfreezeFrom: string;
      /** Train; continue the run kept in this browser's checkpoints (the same files picked again); or compare
       * feature extraction with a fine-tune from `unfreezeFrom`. */
      action: 'train' | 'resume' | 'compare';
      /** Set to 1 by Stop. Shared memory: the worker's steps never yield to its message queue, so a message would wait. */
      stop: Int32Array;
    }
  /** Some of the picked files (sent in parts before 'train', which takes all sent since the last run). */
  | { type: 'files'; files: Array<{ path: string; file: File }> }
  /** The trained model's outputs for n inputs (the browser test compares them with Node's reading of the download). */
  | { type: 'predict'; x: Float32Array; n: number }
  /** Try images: the trained model's answer for each picked image. */
  | { type: 'classify'; files: File[] };

/** Worker → page. */
export type FromWorker =
  | { type: 'log'; line: string }
  /** An epoch done (the curves' next point). */
  | ({ type: 'epoch' } & EpochPoint)
  /** Features computed (of the phase's images), or the batches of the epoch running (of the phase's epochs). */
  | { type: 'progress'; of: 'features' | 'epoch'; done: number; total: number; text: string }
  /** The trained model in each download format (on an ONNX base: the model folder and the merged ONNX). */
  | {
      type: 'done';
      accuracy: number | null;
      models: Partial<Record<'keras' | 'folder' | 'tfjs' | 'onnx', Blob>>;
      /** Every epoch's numbers and the final validation scores (the resume test compares runs by them). */
      run: Pick<BrowserTrainResult, 'history' | 'val' | 'classNames'>;
    }
  /** compare's rows (Node's compare table) and each strategy's epochs for its curve. */
  | { type: 'compared'; comparison: BrowserComparison }
  | { type: 'error'; message: string }
  | { type: 'predicted'; y: Float32Array }
  | { type: 'classified'; answers: Array<{ name: string } & ImageAnswer> };
