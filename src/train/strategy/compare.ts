import { resolveBase } from '../../bases/resolve.js';
import { type TrainOptions, trainImageClassifier } from '../fit/fit.js';
import type { StrategyResult } from '../shapes.js';
import { eventsOf, strategyRow } from './compare-row.js';
import { STRATEGIES } from './strategies.js';

export type { StrategyResult } from '../shapes.js';
export { rowName } from './compare-row.js';

/**
 * The seed's comparison extended: the same data, split and seed trained by full training, feature extraction
 * and fine-tuning, with their parameter counts, wall time, time per epoch and validation accuracy.
 */
export async function compareStrategies(dataDir: string, options: TrainOptions): Promise<StrategyResult[]> {
  // One of the three fine-tunes: the base must say where (checked before the first strategy trains).
  const { unfreezeFrom = '' } = resolveBase({ ...options, base: options.onnxBase ?? options.base, strategy: 'fine-tune' }).options;
  const rows: StrategyResult[] = [];
  for (const strategy of STRATEGIES) {
    const onEvent = eventsOf(options.onEvent, strategy);
    const r = await trainImageClassifier(dataDir, { ...options, strategy, ...(onEvent ? { onEvent } : {}) });
    rows.push(strategyRow(strategy, unfreezeFrom, r));
    r.model.dispose();
  }
  return rows;
}
