import path from 'node:path';
import type { EpochLog } from '../train/fit/options.js';
import { lineChartSvg, writeChart } from './charts.js';

/** Writes loss.svg and accuracy.svg (mae.svg for regression), training and validation per epoch, into `dir`. */
export async function writeHistoryCharts(dir: string, history: EpochLog[]): Promise<string[]> {
  const regression = history.length > 0 && history[0].accuracy === null;
  type Key = 'loss' | 'valLoss' | 'accuracy' | 'valAccuracy' | 'mae' | 'valMae';
  const charts: Array<readonly [string, Key, Key, string]> = [
    [path.join(dir, 'loss.svg'), 'loss', 'valLoss', 'loss'],
    regression ? [path.join(dir, 'mae.svg'), 'mae', 'valMae', 'mean absolute error'] : [path.join(dir, 'accuracy.svg'), 'accuracy', 'valAccuracy', 'accuracy'],
  ];
  for (const [file, key, valKey, label] of charts) {
    await writeChart(
      file,
      lineChartSvg({
        title: `${label} per epoch`,
        xLabel: 'epoch (all phases)',
        yLabel: label,
        series: [
          { name: `training ${label}`, values: history.map((h) => h[key] ?? null), color: '#3b75af' },
          { name: `validation ${label}`, values: history.map((h) => h[valKey] ?? null), color: '#e08214' },
        ],
      }),
    );
  }
  return charts.map((c) => c[0]);
}
