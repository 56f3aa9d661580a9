// The model trained in the page as a file Node loads: a Keras 3 `.keras` (or Keras 2 `.h5`) with transferkit's
// metadata inside, the bytes `transferkit export` writes, so `transferkit predict --model` reads it.
import { applicationInfo } from '../applications/common.js';
import type { KerasFileFormat } from '../keras/entries.js';
import { kerasModelBytes } from '../keras/bytes.js';
import { baseModel } from '../model/introspect.js';
import type { ModelMetadata } from '../train/saved/saved-model.js';
import type { BrowserTrainResult } from './train.js';
import type { BaseOptions } from './weights.js';

/** The trained model as a Keras file; `base` says how its base was built (the weights file's name, its alpha). */
export async function modelFile(r: BrowserTrainResult, base: BaseOptions & { weights: string }, format: KerasFileFormat = 'keras'): Promise<Blob> {
  const info = applicationInfo(baseModel(r.model));
  const shape = r.model.inputs[0].shape as number[];
  const metadata: ModelMetadata = {
    format: 'transferkit-model',
    version: 1,
    base: { id: info?.spec.id ?? base.application ?? 'mobilenet', ...(base.alpha !== undefined ? { alpha: base.alpha } : {}), weights: base.weights },
    inputShape: [shape[1], shape[2], shape[3]],
    preprocessing: info?.spec.preprocessing ?? 'none',
    classNames: r.classNames,
    task: r.task,
    head: r.head,
    strategy: r.strategy,
    history: r.history,
    val: r.val,
  };
  const bytes = await kerasModelBytes(r.model, format, metadata);
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
}
