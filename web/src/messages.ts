// What the page and its training worker say to each other.

/** Page → worker. */
export type ToWorker =
  | {
      type: 'train';
      wasmPaths: string;
      /** The picked weights file, or their URL (fetched, hash-checked and cached by transferkit.fetchWeights). */
      weights: File | string;
      files: Array<{ path: string; file: File }>;
      size: number;
      alpha: number;
      unfreezeFrom: string;
      /** Set to 1 by Stop. Shared memory: the worker's steps never yield to its message queue, so a message would wait. */
      stop: Int32Array;
    }
  /** The trained model's outputs for n inputs (the browser test compares them with Node's reading of the download). */
  | { type: 'predict'; x: Float32Array; n: number };

/** Worker → page. */
export type FromWorker =
  | { type: 'log'; line: string }
  | { type: 'done'; accuracy: number | null; model: Blob }
  | { type: 'error'; message: string }
  | { type: 'predicted'; y: Float32Array };
