import { applicationIds, getApplication } from '../applications/index.js';
import { type ImportResult, importFile, verifyCache, type VerifyRow } from './cache.js';
import type { RemoteFile, WeightsEntry } from './remote.js';

/** Keras's ImageNet class index, used by `decodePredictions`. */
export const IMAGENET_CLASS_INDEX: RemoteFile = {
  file: 'imagenet_class_index.json',
  url: 'https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json',
  md5: 'c2c37ea517e94d9795004a39431a14cb',
};

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
