// Standardised features for a new head on cached rows: each channel of the pooled features shifted by its mean
// and divided by its standard deviation over the training rows (scikit-learn's StandardScaler, which the
// cross-validated linear probe uses), so an L2 penalty and dropout weigh every channel alike. The head trains on
// standardised rows and the statistics are folded into its Dense layer when the phase ends, so the saved model,
// predict and every export see an ordinary `gap, dropout, dense` head on raw features.
import type * as tfl from '@tensorflow/tfjs-layers';
import { tf } from '../../tfjs.js';
import type { FeatureStore } from '../features/store.js';

/** Per-channel statistics of the pooled training features. */
export interface Standardizer {
  mean: Float32Array;
  std: Float32Array;
}

/** Below this a channel's deviation is taken as this (a channel nearly constant on the training rows). */
const MIN_STD = 1e-3;

/** The cached rows averaged over their spatial positions (NHWC rows of `channels` per position). */
export async function pooledRows(store: FeatureStore, channels: number): Promise<Float32Array> {
  const n = store.labels.length;
  const positions = store.rowSize / channels;
  const out = new Float32Array(n * channels);
  const row = new Float32Array(store.rowSize);
  for (let i = 0; i < n; i++) {
    await store.read([i], row);
    for (let p = 0; p < positions; p++) for (let c = 0; c < channels; c++) out[i * channels + c] += row[p * channels + c] / positions;
  }
  return out;
}

/** Mean and standard deviation of each channel of the pooled rows of `store`. */
export async function channelStats(store: FeatureStore, channels: number): Promise<Standardizer> {
  const pooled = await pooledRows(store, channels);
  const n = store.labels.length;
  const sum = new Float64Array(channels);
  const squares = new Float64Array(channels);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < channels; c++) {
      const v = pooled[i * channels + c];
      sum[c] += v;
      squares[c] += v * v;
    }
  const mean = Float32Array.from(sum, (s) => s / n);
  const std = Float32Array.from(squares, (q, c) => Math.max(MIN_STD, Math.sqrt(Math.max(0, q / n - mean[c] ** 2))));
  return { mean, std };
}

/**
 * `store` as the head sees it standardised: every position of channel c becomes (x − mean_c) / std_c, so global
 * average pooling of the row gives the standardised pooled features (pooling is linear).
 */
export function standardized(store: FeatureStore, s: Standardizer): FeatureStore {
  const channels = s.mean.length;
  return {
    labels: store.labels,
    rowSize: store.rowSize,
    async read(indices, out) {
      await store.read(indices, out);
      const n = indices.length * store.rowSize;
      for (let i = 0; i < n; i++) {
        const c = i % channels;
        out[i] = (out[i] - s.mean[c]) / s.std[c];
      }
    },
    close: () => store.close(),
  };
}

/**
 * Folds the standardisation into a Dense layer trained on standardised inputs, so it computes the same on raw ones:
 * W'[c] = W[c] / std_c, b' = b − Σ_c mean_c · W[c] / std_c. (Dropout between them is off at inference.)
 */
export function foldInto(dense: tfl.layers.Layer, s: Standardizer): void {
  const [kernel, bias] = dense.getWeights();
  const [inputs, units] = kernel.shape as [number, number];
  const w = kernel.dataSync();
  const b = Float32Array.from(bias.dataSync());
  const folded = new Float32Array(w.length);
  for (let c = 0; c < inputs; c++)
    for (let u = 0; u < units; u++) {
      folded[c * units + u] = w[c * units + u] / s.std[c];
      b[u] -= s.mean[c] * folded[c * units + u];
    }
  const next = [tf.tensor2d(folded, [inputs, units]), tf.tensor1d(b)];
  dense.setWeights(next);
  tf.dispose(next);
}
