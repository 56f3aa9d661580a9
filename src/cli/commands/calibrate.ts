import path from 'node:path';
import { UsageError } from '../../errors.js';
import { writeChart } from '../../report/charts.js';
import { reliabilitySvg } from '../../report/reliability.js';
import { loadModel, saveModel } from '../../train/saved/saved-model.js';
import { type TemperatureResult, temperatureScale } from '../../train/evaluate/temperature.js';
import type { EngineName } from '../../engine/predictor.js';
import { type Command, printJson } from '../command.js';
import { ENGINE_HELP, ENGINE_OPTIONS, engineFrom } from '../model-options.js';
import { labelledSubset } from './predict.js';

/**
 * Fits the temperature on the model's validation split (or all of dataDir), saves the calibrated model to `out`
 * with what changed in transferkit.json, and draws the reliability diagram when asked (calibrate, train --calibrate).
 */
export async function calibrateSaved(
  dir: string,
  dataDir: string,
  o: { subset: 'validation' | 'all'; out: string; chart?: string; engine?: EngineName },
): Promise<TemperatureResult> {
  const saved = await loadModel(dir);
  const { files } = await labelledSubset(dataDir, saved.metadata, o.subset);
  const r = await temperatureScale(saved, files, { engine: o.engine });
  const { bins: _b, ...before } = r.before;
  const { bins: _a, ...after } = r.after;
  const temperature = ((saved.metadata.temperature as number | undefined) ?? 1) * r.temperature;
  await saveModel(saved.model, o.out, { ...saved.metadata, temperature, calibration: { subset: o.subset, images: r.images, before, after } }, saved.onnxBase);
  if (o.chart)
    await writeChart(
      o.chart,
      reliabilitySvg(
        [
          { name: 'before', ece: r.before.ece, bins: r.before.bins },
          { name: `after (T ${r.temperature.toFixed(2)})`, ece: r.after.ece, bins: r.after.bins },
        ],
        `${path.basename(path.resolve(dir))} on ${o.subset === 'all' ? path.basename(path.resolve(dataDir)) : 'the validation split'}`,
      ),
    );
  return r;
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

/** One line: T and the calibration before and after. */
export const calibrationLine = (r: TemperatureResult) =>
  `temperature ${r.temperature.toFixed(3)} on ${r.images} images: ECE ${pct(r.before.ece)} → ${pct(r.after.ece)}, Brier ${r.before.brier.toFixed(4)} → ${r.after.brier.toFixed(4)}, NLL ${r.before.nll.toFixed(4)} → ${r.after.nll.toFixed(4)} (accuracy ${pct(r.after.accuracy)}, unchanged)`;

export const calibrateCommand: Command = {
  name: 'calibrate',
  usage: '<modelDir> <dataDir> [--subset validation|all] [--reliability FILE.svg|png] [--out DIR] [--json]',
  positionals: [2, 2],
  options: { subset: { type: 'string' }, reliability: { type: 'string' }, out: { type: 'string' }, ...ENGINE_OPTIONS, json: { type: 'boolean' } },
  help: `
Temperature scaling (Guo et al., 2017): one number T, fitted on held-out images by their log-likelihood, divides
the model's logits. The predicted classes (and so the accuracy) stay; the probabilities stop being over- (T > 1)
or under-confident. T is folded into the last Dense layer, so predict, evaluate and every export use it; it is
recorded in transferkit.json (temperature, calibration: ECE, Brier and NLL before and after).

Options:
  --subset validation|all      fit on the validation split the model was trained with (default; its seed and
                               --validation-split from transferkit.json), or on every image of dataDir (held out)
  --reliability FILE.svg|png   the reliability diagram before and after
  --out DIR                    save the calibrated model there (default: over the model)${ENGINE_HELP}
  --json                       print {temperature, images, before, after ({ece, brier, nll, accuracy, bins}), out}

Example:
  transferkit calibrate runs/photos photos/ --reliability runs/photos/reliability.svg`,
  async run(values, [dir, dataDir]) {
    const subset = (values.subset as string | undefined) ?? 'validation';
    if (subset !== 'validation' && subset !== 'all') throw new UsageError(`--subset must be validation or all; got '${subset}'`);
    const out = (values.out as string | undefined) ?? dir;
    const chart = values.reliability as string | undefined;
    const r = await calibrateSaved(dir, dataDir, { subset, out, chart, engine: engineFrom(values) });
    if (values.json) return printJson({ ...r, out });
    process.stdout.write(`${calibrationLine(r)}; saved to ${out}${chart ? `; wrote ${chart}` : ''}\n`);
  },
};
