// `train --head knn|prototype|logistic`: the head is computed from the training split's pooled features, not
// trained by gradient steps, and saved as ordinary layers behind the base, so predict, evaluate and explain run
// it like any model: UnitNormalization → Dense (the class means, or every stored embedding) → softmax or
// NeighbourVote; the linear probe is one Dense softmax layer.
import { tf, tfl } from '../tfjs.js';
import { NeighbourVote, UnitNormalization } from '../applications/layers.js';
import { classificationReport } from '../train/evaluate/metrics.js';
import { crossEntropy } from '../train/saved/predict.js';
import type { TrainOptions, TrainResult } from '../train/fit/options.js';
import { type EmbeddingHead, type FittedHead, fitHead, formatEmbeddingHead } from './embedding.js';
import { pooledFeatures } from './features.js';

/** The base and its pooling (`layers`, reused) followed by the fitted head's layers. */
export function embeddingModel(
  layers: tfl.layers.Layer[],
  fitted: Pick<FittedHead, 'head' | 'kernel' | 'bias' | 'labels'>,
  classes: number,
  dim: number,
): tfl.Sequential {
  const model = tfl.sequential({ name: 'sequential' });
  for (const l of layers) model.add(l);
  const { head } = fitted;
  if (head.kind !== 'logistic') model.add(new UnitNormalization({ name: 'unit_normalization' }));
  const units = fitted.labels ? fitted.labels.length : classes;
  const dense = tfl.layers.dense({
    units,
    useBias: head.kind === 'logistic',
    activation: head.kind === 'knn' ? 'linear' : 'softmax',
    name: head.kind === 'knn' ? 'stored_embeddings' : 'dense',
    // Set right below: a random draw of k-NN's dim × (every stored image) kernel took ~0.1 s of add-class.
    kernelInitializer: 'zeros',
  });
  model.add(dense);
  dense.setWeights([tf.tensor(fitted.kernel, [dim, units]), ...(fitted.bias ? [tf.tensor(fitted.bias, [classes])] : [])]);
  if (head.kind === 'knn') model.add(new NeighbourVote({ k: head.k, labels: fitted.labels as number[], classes, name: 'neighbour_vote' }));
  return model;
}

/** Fits the head on the training split, scores the validation split, and returns a result `train` saves as usual. */
export async function fitEmbeddingHead(data: string, o: TrainOptions, head: EmbeddingHead): Promise<TrainResult & { fitted: FittedHead }> {
  const start = performance.now();
  const f = await pooledFeatures(data, o);
  const classes = f.plan.classNames.length;
  const t = performance.now();
  const fitted = fitHead(head, f.train, classes, f.validation);
  const trainS = (performance.now() - t) / 1000;
  const model = embeddingModel(f.cls.model.layers.slice(0, -1), fitted, classes, f.train.dim);
  let val: TrainResult['val'] = { loss: null, accuracy: null };
  if (f.validation.labels.length) {
    const p = fitted.probabilities(f.validation.x);
    const loss = f.validation.labels.reduce((s, l, i) => s + crossEntropy(p[i * classes + l]), 0) / f.validation.labels.length;
    const report = classificationReport(p, f.validation.labels, f.plan.classNames);
    val = { loss, accuracy: report.accuracy, report };
  }
  return {
    model,
    task: 'categorical',
    classNames: f.plan.classNames,
    strategy: 'feature-extraction',
    head: formatEmbeddingHead(head),
    inputShape: [f.cls.size, f.cls.size, f.cls.raster ? f.cls.raster.indices.length : f.cls.gray ? 1 : 3],
    history: [],
    phases: [],
    val,
    skipped: f.context.skipped,
    emptyClasses: f.plan.emptyClasses,
    timings: { featuresS: f.featuresS, trainS, totalS: (performance.now() - start) / 1000 },
    counts: { train: f.plan.train.length, validation: f.plan.validation.length },
    cacheHits: f.cacheHits,
    fitted,
  };
}
