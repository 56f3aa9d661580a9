// The catalogue of every weights file, gathered from the families' specs (as timm's registry lists its models).
import type { RemoteFile } from '../util/remote-file.js';
import { type ImportResult, importFile, verifyCache, type VerifyRow } from '../weights/cache.js';
import { IMAGENET_CLASS_INDEX } from '../weights/imagenet.js';
import type { WeightsEntry } from '../weights/remote.js';
import { applicationIds, getApplication } from './index.js';

/** Every published weights file of every model family. */
export function weightsRegistry(): WeightsEntry[] {
  return applicationIds().flatMap((id) => getApplication(id).spec.weights);
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
