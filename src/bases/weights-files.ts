// The catalogue of every Keras weights file: the zoo's entries of the base registry (as timm's lists its models).
import type { RemoteFile } from '../util/remote-file.js';
import { type ImportResult, importFile, verifyCache, type VerifyRow } from '../weights/cache.js';
import { IMAGENET_CLASS_INDEX } from '../weights/imagenet.js';
import type { WeightsEntry } from '../weights/remote.js';
import { baseRegistry } from './registry.js';

/** Every published weights file of every model family. */
export function weightsRegistry(): WeightsEntry[] {
  return baseRegistry().flatMap((e) => (e.kind === 'zoo' ? e.weights : []));
}

/** Every file transferkit may fetch or import: the weights and the class index. */
export function knownFiles(): RemoteFile[] {
  return [...weightsRegistry(), IMAGENET_CLASS_INDEX];
}

/** `transferkit weights import`: a file downloaded elsewhere into the cache, checked by name and hash. */
export function importWeights(file: string): Promise<ImportResult> {
  return importFile(file, knownFiles());
}

/** `transferkit weights verify`: re-hash every cached file. */
export function verifyWeights(): Promise<VerifyRow[]> {
  return verifyCache(knownFiles());
}
