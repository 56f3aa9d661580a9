import { TransferkitError, UsageError } from '../../errors.js';
import { writeHistoryCharts } from '../../report/history.js';
import { type TrainOptions, type TrainResult, trainImageClassifier, trainedModelMetadata } from '../../train/fit/fit.js';
import { trainFromFeatures } from '../../train/features/precomputed.js';
import { readExclusionList } from '../../data/exclusions.js';
import { calibrateSaved } from './calibrate.js';
import { parseEmbeddingHead } from '../../heads/embedding.js';
import { fitEmbeddingHead } from '../../heads/fit-head.js';
import { onnxTrainFromRefusal } from '../../train/model/onnx-base.js';
import { loadModel, saveModel } from '../../train/saved/saved-model.js';
import { command } from '../command.js';
import { text, toggle, withHelp } from '../flag.js';
import { grayToRgb } from '../flags/bands.js';
import { IMAGE_BASE } from '../flags/base.js';
import { DICOM } from '../flags/dicom.js';
import { ENGINE } from '../flags/engine.js';
import { json, out } from '../flags/output.js';
import { GEOTIFF, STOPPING, TRAIN_CORE, loss, pooling } from '../flags/train.js';
import { savedModelArgs } from '../model-options.js';
import { type TrainValues, trainOptionsFrom } from '../train-options.js';
import { reportTraining } from './train-report.js';

const calibrate = toggle(
  'calibrate',
  `after training, fit temperature scaling on the validation split and save it with
the model (transferkit calibrate; needs --out)`,
);
const exclude = text(
  'exclude',
  'FILE.csv',
  `leave out the images a review list names (label-issues --fix, duplicates --fix):
every row whose action is not keep; the files themselves are not touched`,
);
const features = text(
  'features',
  'FILE',
  `train the head on features from 'transferkit extract' (.parquet, .arrow, .npy;
merged shards): no dataset folder, the base and size come from the file (and
are checked by digest), the split and results are those of training on the
images; the saved model holds the base, so predict takes images`,
);

/** Trains as the flags say: on the dataset folder (or CSV), or on --features; returns the result and its data. */
async function fit(values: TrainValues & { features?: string; exclude?: string }, dataDir: string | undefined, signal: AbortSignal) {
  const { features } = values;
  if (features) {
    // The base comes from the file: flags given restate it (and are checked); weights only if given.
    const given = trainOptionsFrom(values);
    const o = { ...given, base: values.base, weights: values.weights === undefined ? undefined : given.weights, signal };
    const { result, options, root } = await trainFromFeatures(features, o);
    return { r: result, options, data: root };
  }
  if (dataDir === undefined) throw new UsageError('missing argument: transferkit train <dataDir> --base MODEL (or --features FILE)');
  const from = values.from ? await loadModel(values.from, savedModelArgs(values, [values.from], 'train', 0).options) : undefined;
  if (from?.onnxBase) throw onnxTrainFromRefusal();
  const exclude = values.exclude ? await readExclusionList(values.exclude) : undefined;
  const options: TrainOptions = { ...trainOptionsFrom(values), signal, ...(from ? { from } : {}), ...(exclude ? { exclude } : {}) };
  const embedding = parseEmbeddingHead(options.head);
  const r: TrainResult = embedding ? await fitEmbeddingHead(dataDir, options, embedding) : await trainImageClassifier(dataDir, options);
  return { r, options, data: dataDir };
}

export const trainCommand = command({
  name: 'train',
  usage: '<dataDir|targets.csv> --base <model>  |  --from <modelDir|model.keras|model.h5>  |  --features all.parquet [options]',
  positionals: [0, 1],
  help: [
    'Options:',
    ...IMAGE_BASE,
    ...ENGINE,
    ...TRAIN_CORE,
    calibrate,
    exclude,
    ...STOPPING,
    loss,
    pooling,
    features,
    '',
    'GeoTIFF datasets (multi-band, 8/16-bit or float tiles in class folders):',
    ...GEOTIFF,
    '',
    'DICOM datasets (.dcm, or extensionless files with the DICM preamble; the window is saved with the model):',
    ...DICOM,
    grayToRgb,
    withHelp(out, 'save the model (model.json, weights.bin, transferkit.json) and loss/accuracy charts'),
    withHelp(
      json,
      `print {task, classNames, strategy, epochs, phases (stoppedAt, bestEpoch), history,
val (with report: per-class and macro metrics, balanced accuracy, ROC/PR AUC),
threshold, skipped, images, timings, cacheHits, out}`,
    ),
    '',
    'Example:',
    '  transferkit train photos/ --base mobilenet --alpha 0.25 --input-size 96 --out runs/photos',
  ],
  async run(values, [dataDir]) {
    const { features, head } = values;
    if (values.calibrate && (!values.out || features || parseEmbeddingHead(head)?.kind === 'knn'))
      throw new UsageError(
        '--calibrate fits a temperature on the validation split of a saved model: give --out DIR, train on the folder, and a head with logits (not knn)',
      );
    if (features && parseEmbeddingHead(head))
      throw new UsageError(`--head ${head} computes the head from the images' features: train on the folder, not --features`);
    if (features && dataDir) throw new UsageError(`give either a dataset (${dataDir}) or --features ${features}, not both`);
    if (!features && !dataDir) throw new UsageError('missing argument: transferkit train <dataDir> --base MODEL (or --features FILE)');
    // Ctrl-C: finish the batch, keep the last complete epoch, save it, and exit nonzero.
    const interrupt = new AbortController();
    const onSigint = () => {
      process.stderr.write('\ntransferkit: stopping after this batch (Ctrl-C again to quit at once)\n');
      interrupt.abort();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onSigint);
    const { r, options, data } = await fit(values, dataDir, interrupt.signal).finally(() => process.removeListener('SIGINT', onSigint));
    const dir = values.out;
    if (dir) {
      await saveModel(r.model, dir, trainedModelMetadata(r, options, data), r.onnxBase?.onnx);
      if (r.history.length) await writeHistoryCharts(dir, r.history);
    }
    const calibration =
      values.calibrate && dir && !r.stopped ? await calibrateSaved(dir, data, { subset: 'validation', out: dir, engine: options.engine }) : undefined;
    if (r.stopped) {
      const kept = r.stopped.keptEpoch
        ? `the weights of epoch ${r.stopped.keptEpoch}${r.stopped.phase ? ` of phase ${r.stopped.phase + 1}` : ''}`
        : 'the weights from before the phase';
      throw new TransferkitError(`stopped: ${r.stopped.reason}; ${dir ? `saved ${kept} to ${dir}` : `nothing saved (give --out DIR to keep ${kept})`}`);
    }
    reportTraining(r, dir, calibration, Boolean(values.json));
  },
});
