// One strategy's row of a comparison, from its trained run: what Node's `compare` and the page's compare both
// report (no file system here, so the browser build shares it).
import type * as tfl from '@tensorflow/tfjs-layers';
import type { EpochLog, Strategy, StrategyResult, TrainEvent } from '../shapes.js';
import { compareParams } from './strategies.js';

/** What a row needs of a trained run (Node's TrainResult and the page's BrowserTrainResult both have it). */
export interface ComparedRun {
  model: tfl.LayersModel;
  history: EpochLog[];
  val: { accuracy: number | null };
  /** Wall time, and the time training (caching the frozen part excluded), in seconds. */
  timings: { totalS: number; trainS: number };
}

/** The row of `strategy` (fine-tuned from `unfreezeFrom`): its parameter counts, times and validation accuracy. */
export function strategyRow(strategy: Strategy, unfreezeFrom: string, r: ComparedRun): StrategyResult {
  const params = compareParams(r.model, { unfreezeFrom }).find((p) => p.strategy === strategy);
  const accuracies = r.history.map((h) => h.valAccuracy).filter((a): a is number => a !== null);
  return {
    strategy,
    ...(strategy === 'fine-tune' ? { unfreezeFrom } : {}),
    totalParams: params?.totalParams ?? 0,
    trainableParams: params?.trainableParams ?? 0,
    nonTrainableParams: params?.nonTrainableParams ?? 0,
    wallS: r.timings.totalS,
    secondsPerEpoch: r.timings.trainS / r.history.length,
    bestValAccuracy: accuracies.length ? Math.max(...accuracies) : null,
    finalValAccuracy: r.val.accuracy,
  };
}

/** A listener's events with each epoch naming its strategy, so it can draw each run as its own series. */
export const eventsOf = (onEvent: ((e: TrainEvent) => void) | undefined, strategy: Strategy) =>
  onEvent && ((e: TrainEvent) => onEvent(e.type === 'epoch' ? { ...e, strategy } : e));

/** A row's name in tables and charts. */
export const rowName = (r: StrategyResult) => (r.head ? `head ${r.head}` : r.unfreezeFrom ? `fine-tune from ${r.unfreezeFrom}` : r.strategy);
