import { TransferkitError } from '../../errors.js';
import { type TrainEvent, type TrainOptions, trainImageClassifier } from '../fit/fit.js';
import type { StrategyResult } from '../shapes.js';
import { STRATEGIES, compareParams } from './strategies.js';

export type { StrategyResult } from '../shapes.js';

/**
 * The seed's comparison extended: the same data, split and seed trained by full training, feature extraction
 * and fine-tuning, with their parameter counts, wall time, time per epoch and validation accuracy.
 */
export async function compareStrategies(dataDir: string, options: TrainOptions & { unfreezeFrom: string }): Promise<StrategyResult[]> {
  if (!options.unfreezeFrom) throw new TransferkitError('compare needs the layer fine-tuning starts from (--unfreeze-from LAYER)');
  const rows: StrategyResult[] = [];
  for (const strategy of STRATEGIES) {
    // Epoch events name their strategy, so a listener can draw each run as its own series.
    const onEvent = options.onEvent && ((e: TrainEvent) => options.onEvent?.(e.type === 'epoch' ? { ...e, strategy } : e));
    const r = await trainImageClassifier(dataDir, { ...options, strategy, ...(onEvent ? { onEvent } : {}) });
    const params = compareParams(r.model, { unfreezeFrom: options.unfreezeFrom }).find((p) => p.strategy === strategy);
    const accuracies = r.history.map((h) => h.valAccuracy).filter((a): a is number => a !== null);
    rows.push({
      strategy,
      ...(strategy === 'fine-tune' ? { unfreezeFrom: options.unfreezeFrom } : {}),
      totalParams: params?.totalParams ?? 0,
      trainableParams: params?.trainableParams ?? 0,
      nonTrainableParams: params?.nonTrainableParams ?? 0,
      wallS: r.timings.totalS,
      secondsPerEpoch: r.timings.trainS / r.history.length,
      bestValAccuracy: accuracies.length ? Math.max(...accuracies) : null,
      finalValAccuracy: r.val.accuracy,
    });
    r.model.dispose();
  }
  return rows;
}

/** A row's name in tables and charts. */
export const rowName = (r: StrategyResult) => (r.head ? `head ${r.head}` : r.unfreezeFrom ? `fine-tune from ${r.unfreezeFrom}` : r.strategy);
