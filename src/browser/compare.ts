// `compare` in the page: feature extraction against a fine-tune from a named layer, on the same split and seed,
// each trained by trainClassifier on a base built afresh, reported in the rows Node's `compare` prints.
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../errors.js';
import { eventsOf, strategyRow } from '../train/strategy/compare-row.js';
import type { EpochLog, StrategyResult } from '../train/shapes.js';
import type { PickedFolder } from './images.js';
import { type BrowserTrainOptions, trainClassifier } from './train.js';

/** The strategies the page compares (full training, Node's third, trains the whole base on images each step). */
export const BROWSER_STRATEGIES = ['feature-extraction', 'fine-tune'] as const;

/** What compareStrategies gives: the rows and the curves. */
export interface BrowserComparison {
  /** One row per strategy, as Node's compareStrategies gives them. */
  rows: StrategyResult[];
  /** Each strategy's epochs (both phases of the fine-tune), for its curves. */
  histories: Record<(typeof BROWSER_STRATEGIES)[number], Array<EpochLog & { phase: number }>>;
}

/**
 * Trains feature extraction, then a fine-tune from `unfreezeFrom`, on the picked folder with the same split and
 * seed; `makeBase` builds the base each run starts from (a fine-tune changes the base it trains).
 */
export async function compareStrategies(
  makeBase: () => Promise<tfl.LayersModel>,
  folder: PickedFolder,
  o: Omit<BrowserTrainOptions, 'strategy' | 'checkpoints' | 'resume'> & { unfreezeFrom: string },
): Promise<BrowserComparison> {
  if (!o.unfreezeFrom) throw new TransferkitError('compare needs the layer to fine-tune from (unfreezeFrom, e.g. conv_dw_12)');
  const rows: StrategyResult[] = [];
  const histories: BrowserComparison['histories'] = { 'feature-extraction': [], 'fine-tune': [] };
  for (const strategy of BROWSER_STRATEGIES) {
    const onEvent = eventsOf(o.onEvent, strategy);
    const r = await trainClassifier(await makeBase(), folder, { ...o, strategy, ...(onEvent ? { onEvent } : {}) });
    rows.push(strategyRow(strategy, o.unfreezeFrom, r));
    histories[strategy] = r.history;
    r.model.dispose();
    if (r.stopped) break;
  }
  return { rows, histories };
}
