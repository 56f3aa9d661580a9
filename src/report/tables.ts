import type { StrategyParams } from '../train/strategy/strategies.js';
import { formatCount, paramsMemory } from '../util/format.js';

/** Renders rows as an aligned text table; `right` marks the columns to right-align (numbers). */
export function textTable(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n') + '\n';
}

const withSize = (n: number) => `${formatCount(n)} (${paramsMemory(n)})`;

/** The strategy comparison as a table: one row per strategy. */
export function paramsTable(rows: StrategyParams[]): string {
  return textTable(
    ['Strategy', 'Total params', 'Trainable params', 'Non-trainable params'],
    rows.map((r) => [
      r.unfreezeFrom ? `${r.strategy} from ${r.unfreezeFrom}` : r.strategy,
      withSize(r.totalParams),
      withSize(r.trainableParams),
      withSize(r.nonTrainableParams),
    ]),
    [false, true, true, true],
  );
}
