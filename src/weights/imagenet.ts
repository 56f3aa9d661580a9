import { readFile } from 'node:fs/promises';
import { tf } from '../tfjs.js';
import { TransferkitError } from '../errors.js';
import { ensureCached } from './cache.js';
import type { RemoteFile } from '../util/remote-file.js';

/** Keras's ImageNet class index, used by `decodePredictions`. */
export const IMAGENET_CLASS_INDEX: RemoteFile = {
  file: 'imagenet_class_index.json',
  url: 'https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json',
  md5: 'c2c37ea517e94d9795004a39431a14cb',
};

/** One ImageNet class of a prediction, as Keras's `decode_predictions` gives it. */
export interface DecodedPrediction {
  /** WordNet id, e.g. 'n02123045'. */
  classId: string;
  label: string;
  probability: number;
}

let classIndex: Record<string, [string, string]> | undefined;

async function loadClassIndex(): Promise<Record<string, [string, string]>> {
  if (!classIndex) {
    const file = await ensureCached(IMAGENET_CLASS_INDEX);
    try {
      classIndex = JSON.parse(await readFile(file, 'utf8')) as Record<string, [string, string]>;
    } catch (err) {
      throw new TransferkitError(`${file}: not a readable class index (${(err as Error).message}); delete it and fetch it again`);
    }
  }
  return classIndex;
}

/**
 * Keras's `decode_predictions`: the top-k ImageNet classes of each row of a (N, 1000) batch of predictions,
 * most probable first. The class index is Keras's file, cached like the weights.
 */
export async function decodePredictions(preds: tf.Tensor | number[][], top = 5): Promise<DecodedPrediction[][]> {
  const shape = preds instanceof tf.Tensor ? preds.shape : [preds.length, preds[0]?.length ?? 0];
  if (shape.length !== 2 || shape[1] !== 1000) {
    throw new TransferkitError(`decodePredictions needs predictions of shape (N, 1000); got (${shape.join(', ')})`);
  }
  const rows = preds instanceof tf.Tensor ? ((await preds.array()) as number[][]) : preds;
  const index = await loadClassIndex();
  return rows.map((row) =>
    row
      .map((p, i) => [p, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, top)
      .map(([p, i]) => ({ classId: index[String(i)][0], label: index[String(i)][1], probability: p })),
  );
}
