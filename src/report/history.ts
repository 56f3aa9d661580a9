import path from 'node:path';
import type { EpochLog } from '../train/fit.js';
import { lineChartSvg, writeChart } from './charts.js';

/** Writes loss.svg and accuracy.svg (training and validation per epoch) into `dir`. */
export async function writeHistoryCharts(dir: string, history: EpochLog[]): Promise<string[]> {
  const files = [path.join(dir, 'loss.svg'), path.join(dir, 'accuracy.svg')];
  for (const [file, key, valKey, label] of [
    [files[0], 'loss', 'valLoss', 'loss'],
    [files[1], 'accuracy', 'valAccuracy', 'accuracy'],
  ] as const) {
    await writeChart(
      file,
      lineChartSvg({
        title: `${label} per epoch`,
        xLabel: 'epoch (all phases)',
        yLabel: label,
        series: [
          { name: `training ${label}`, values: history.map((h) => h[key]), color: '#3b75af' },
          { name: `validation ${label}`, values: history.map((h) => h[valKey]), color: '#e08214' },
        ],
      }),
    );
  }
  return files;
}
