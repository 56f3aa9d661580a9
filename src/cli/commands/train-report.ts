import path from 'node:path';
import type { TemperatureResult } from '../../train/evaluate/temperature.js';
import type { TrainResult } from '../../train/fit/fit.js';
import { printJson } from '../command.js';
import { calibrationLine } from './calibrate.js';

/** What train prints: the summary as JSON, or a line of results (and the skipped files). */
export function reportTraining(r: TrainResult, out: string | undefined, calibration: TemperatureResult | undefined, json: boolean): void {
  const summary = {
    task: r.task,
    ...(r.bands ? { bands: r.bands } : {}),
    classNames: r.classNames,
    strategy: r.strategy,
    epochs: r.history.length,
    phases: r.phases,
    history: r.history,
    val: r.val,
    ...(r.threshold !== undefined ? { threshold: r.threshold } : {}),
    skipped: r.skipped,
    images: r.counts,
    timings: r.timings,
    cacheHits: r.cacheHits,
    out: out ? path.resolve(out) : null,
    ...(calibration ? { calibration: { temperature: calibration.temperature, before: calibration.before.ece, after: calibration.after.ece } } : {}),
  };
  if (json) {
    printJson(summary);
    return;
  }
  const report = r.val.report;
  const balanced = report && r.classWeights ? `, balanced accuracy ${(report.balancedAccuracy * 100).toFixed(1)}%` : '';
  const auc = report?.binary ? `, ROC AUC ${report.binary.rocAuc.toFixed(3)}` : '';
  const acc =
    r.val.loss === null
      ? 'no validation split'
      : r.task === 'regression'
        ? `validation MAE ${(r.val.mae as number).toPrecision(4)}, RMSE ${(r.val.rmse as number).toPrecision(4)}`
        : `validation accuracy ${((r.val.accuracy as number) * 100).toFixed(1)}%${balanced}${auc}`;
  const epochs = r.phases
    .map((p) =>
      p.bestEpoch !== null && p.epochs === 'auto'
        ? `phase ${p.phase + 1}: best epoch ${p.bestEpoch} of ${p.stoppedAt}`
        : `phase ${p.phase + 1}: ${p.stoppedAt} epochs`,
    )
    .join(', ');
  const how = r.history.length ? epochs : `head ${r.head} computed from the features, no epochs`;
  const what = r.task === 'regression' ? 'a regressor' : r.classNames.join(', ');
  process.stdout.write(
    `trained ${r.strategy} on ${r.counts.train} images (${what}): ${acc}; ${how}; ${r.timings.totalS.toFixed(1)} s${out ? `; saved to ${out}` : ''}\n`,
  );
  if (calibration) process.stdout.write(`calibrated on the validation split: ${calibrationLine(calibration)}\n`);
  if (r.skipped.length)
    process.stdout.write(
      `skipped ${r.skipped.length} file(s): ${r.skipped
        .slice(0, 3)
        .map((s) => `${s.file} (${s.reason})`)
        .join('; ')}${r.skipped.length > 3 ? '; …' : ''}\n`,
    );
}
