// `refit`: after epochs auto has picked its best epoch on the validation split, the head trains again from its
// initial weights on the training and validation rows together for that many epochs, at the rates those epochs
// had (what a cross-validated probe does after choosing its penalty: refit on all the data). The validation
// scores then describe the model before the refit: the refitted one has seen those images.
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Trainer, takeSteps } from '../../engine/training.js';
import { cachedBatches } from '../features/cache.js';
import type { FeatureStore } from '../features/store.js';
import type { EpochLog } from './options.js';
import { type StepTargets, groupSize, groupsOf, stepBatch } from './step-groups.js';

/** Rows of `a` then rows of `b`, as one store (closing it closes neither). */
export function joinStores(a: FeatureStore, b: FeatureStore): FeatureStore {
  const n = a.labels.length;
  return {
    labels: [...a.labels, ...b.labels],
    rowSize: a.rowSize,
    async read(indices, out) {
      // Each store read once per call, then its rows put in their places.
      for (const [store, mine] of [
        [a, indices.map((k, i) => [k, i]).filter(([k]) => k < n)],
        [b, indices.map((k, i) => [k - n, i]).filter(([k]) => k >= 0)],
      ] as const) {
        const rows = new Float32Array(mine.length * a.rowSize);
        await store.read(
          mine.map(([k]) => k),
          rows,
        );
        mine.forEach(([, i], j) => out.set(rows.subarray(j * a.rowSize, (j + 1) * a.rowSize), i * a.rowSize));
      }
    },
    async close() {},
  };
}

/** The trained layers' weights, to train again from. */
export const layerWeights = (layers: tfl.layers.Layer[]) => layers.map((l) => l.getWeights().map((w) => w.clone()));

/** What a refit needs from the phase (and, as `StepTargets`, its task, classes and class weights). */
export interface RefitPlan extends StepTargets {
  /** The epochs up to the kept one, with the rate each ran at. */
  epochs: EpochLog[];
  rows: FeatureStore;
  batch: number;
  random: () => number;
}

/** Trains `trainer` (made on the initial weights) over all rows for the kept epochs, at their rates, in its groups. */
export async function refitEpochs(trainer: Trainer, r: RefitPlan): Promise<void> {
  for (const epoch of r.epochs)
    for await (const group of groupsOf(cachedBatches(r.rows, r.batch, r.random), groupSize(trainer)))
      await takeSteps(
        trainer,
        group.map((b) => stepBatch(b, epoch.lr as number, r)),
      );
}
