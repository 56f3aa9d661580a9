// The classifier a run trains: the base (with its bands adapted for multi-band rasters) and the head the task needs.
import type * as tfl from '@tensorflow/tfjs-layers';
import { getApplication } from '../../applications/index.js';
import { buildBandBase } from '../../applications/bands.js';
import { type PixelSource, photoSource, rasterSource } from '../../data/batches.js';
import { TransferkitError } from '../../errors.js';
import { checkFineTuneStart } from '../../bases/fine-tune-start.js';
import type { SkippedFile } from '../../data/folders.js';
import type { Context } from '../features/cache.js';
import { DEFAULT_SEED } from '../defaults.js';
import type { DataPlan } from '../fit/data-plan.js';
import { lossOf, outputLayer } from './task-output.js';
import { smallInputAdvice } from '../features/extract.js';
import { DEFAULT_HEAD_DROPOUT, addHead, parseHeadSpec, standardizesByDefault } from './head.js';
import type { Task, TrainEvent, TrainOptions } from '../fit/options.js';
import type { PhaseLayers } from '../fit/phase-plan.js';
import { type RasterPlan, planRasters } from '../scene/rasters.js';
import { type SavedModel, sourceOf } from '../saved/saved-model.js';
import { baseModel } from '../../model/introspect.js';
import type { OnnxBase } from '../../engine/onnx-base.js';
import { type OpenBase, STAND_IN, openBase, standInBase } from './onnx-base.js';

export interface Classifier {
  model: tfl.LayersModel;
  head: string;
  size: number;
  source: PixelSource;
  raster: RasterPlan | null;
  /** A one-channel base for grayscale images (--gray-to-rgb sum). */
  gray: boolean;
  /** The adapted first convolution of a multi-band base. */
  firstConv?: string;
  layers: PhaseLayers;
  loss: 'binary_crossentropy' | 'categorical_crossentropy' | 'mse' | 'mae';
  /** An imported ONNX base, running in ONNX Runtime in front of `model` (the head behind a stand-in). */
  onnx?: OpenBase;
}

/** The head spec, checked against the task: it must end in the output layer the task needs. */
function headFor(plan: DataPlan, o: TrainOptions, defaultHead: string): string {
  const { task, classNames } = plan;
  const want = outputLayer(task, classNames.length);
  const head = o.head ?? `${defaultHead}dense:${want.units}:${want.activation}`;
  const last = parseHeadSpec(head).at(-1);
  if (last?.type !== 'dense' || last.units !== want.units || last.activation !== want.activation) {
    const what = task === 'regression' ? 'regression (one linear output)' : `${classNames.length} classes (${classNames.join(', ')})`;
    throw new TransferkitError(`the head must end in dense:${want.units}:${want.activation} for ${what}; got '${head}'`);
  }
  return head;
}

/** A new head on an imported ONNX base: the base runs in ONNX Runtime, the head on its flattened features. */
async function onnxClassifier(base: OnnxBase, plan: DataPlan, o: TrainOptions): Promise<Classifier> {
  if (o.bands || o.grayToRgb === 'sum' || o.pooling)
    throw new TransferkitError(
      '--bands, --gray-to-rgb sum and --pooling apply to zoo bases; an imported ONNX base takes RGB photos and gives its own features',
    );
  // Rates per block come from the zoo's block list; an imported graph's suffix trains at one rate.
  if (o.lrDecay !== undefined) throw new TransferkitError('--lr-decay applies to zoo bases; an imported ONNX base fine-tunes its suffix at one rate');
  const open = await openBase(base, o.engine);
  const head = headFor(plan, o, `dropout:${DEFAULT_HEAD_DROPOUT.onnx}, `);
  let model: tfl.LayersModel;
  try {
    model = addHead(standInBase(open.dim), head, { seed: o.seed ?? DEFAULT_SEED });
  } catch (err) {
    await open.predictor.dispose();
    throw err;
  }
  return {
    model,
    head,
    size: base.preprocessing.size,
    source: open.source,
    raster: null,
    gray: false,
    layers: { firstHead: model.layers[1].name, firstBase: STAND_IN, newFirstConv: null },
    loss: lossOf(plan.task, o),
    onnx: open,
  };
}

export async function buildClassifier(plan: DataPlan, o: TrainOptions, emit: (e: TrainEvent) => void): Promise<Classifier> {
  if (o.onnxBase) return onnxClassifier(o.onnxBase, plan, o);
  const { task } = plan;
  const spec = getApplication(o.base).spec;
  const size = o.inputSize ?? spec.defaultSize;
  const raster = await planRasters(plan.files, plan.train, o, (message) => emit({ type: 'notice', message }));
  const buildArgs = {
    weights: o.weights === undefined ? 'imagenet' : o.weights,
    includeTop: false,
    inputShape: [size, size, 3] as [number, number, number],
    ...(o.pooling ? { pooling: o.pooling } : {}),
    ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
  };
  // --gray-to-rgb sum: a one-channel base whose first kernels are the sums of the RGB ones (exact for gray images).
  const gray = !raster && o.grayToRgb === 'sum';
  const adapted = raster
    ? await buildBandBase(o.base, buildArgs, raster.roles, raster.adaptation, o.seed ?? DEFAULT_SEED)
    : gray
      ? await buildBandBase(o.base, buildArgs, [-1], 'repeat-mean')
      : null;
  const base = adapted ? adapted.base : await getApplication(o.base).build(buildArgs);
  const source = raster ? rasterSource(spec.preprocessing, raster) : photoSource(spec.preprocessing, { dicom: o.dicom, channels: gray ? 1 : 3 });
  // A first convolution with new band slices trains in every phase: the base then runs on every batch.
  const newFirstConv = raster && raster.adaptation !== 'rgb' ? (adapted as { firstConv: string }).firstConv : null;
  if (newFirstConv)
    emit({
      type: 'notice',
      message: `band adaptation ${raster?.adaptation} over ${raster?.indices.length} bands: ${newFirstConv} has new weights and trains in every phase, so the whole base runs on every batch`,
    });
  const advice = smallInputAdvice(base);
  if (advice) emit({ type: 'notice', message: advice });
  // The default head trained first on cached features learns on standardised features with an L2 penalty
  // (fit/standardize.ts) instead of dropout; where it is not (augmentation, full, new band slices), dropout.
  const standardized = !o.augment && o.strategy !== 'full' && !newFirstConv && (o.standardize ?? standardizesByDefault(task, false));
  const dropout = standardized ? '' : `dropout:${DEFAULT_HEAD_DROPOUT.zoo}, `;
  const head = headFor(plan, o, `${o.pooling ? '' : 'gap, '}${dropout}`);
  const loss = lossOf(task, o);
  const model = addHead(base, head, { seed: o.seed ?? DEFAULT_SEED });
  const firstHead = model.layers[1].name;
  const firstBase = baseModel(model).layers.find((l) => l.getClassName() !== 'InputLayer')?.name as string;
  return {
    model,
    head,
    size,
    source,
    raster,
    gray,
    ...(adapted ? { firstConv: adapted.firstConv } : {}),
    layers: { firstHead, firstBase, newFirstConv },
    loss,
  };
}

/**
 * Fine-tuning a saved model (a Keras user's own, or a transferkit one): no new head, its output layer must have
 * one unit per class (two classes may keep a 2-unit softmax, which makes the task categorical).
 */
export function savedClassifier(saved: SavedModel, plan: DataPlan, o: TrainOptions): { cls: Classifier; task: Task } {
  const { model, metadata } = saved;
  checkFineTuneStart('fine-tune', o.strategy === 'fine-tune' ? o.unfreezeFrom : undefined, 'saved');
  if (o.head || o.bands) throw new TransferkitError('a loaded model keeps its own layers: --head and --bands do not apply');
  const units = model.outputs[0].shape[model.outputs[0].shape.length - 1];
  const classes = plan.classNames.length;
  const task: Task = plan.task === 'binary' && units === 2 ? 'categorical' : plan.task;
  const want = task === 'categorical' ? classes : 1;
  if (units !== want) {
    const data = task === 'regression' ? 'is a regression (1)' : `has ${classes} classes (${plan.classNames.join(', ')})`;
    throw new TransferkitError(`the model has ${units} output unit(s) and the data ${data}; fine-tune it on data with as many classes`);
  }
  const loss = task === 'regression' ? (o.regressionLoss ?? 'mse') : task === 'binary' ? 'binary_crossentropy' : 'categorical_crossentropy';
  const firstBase = model.layers.find((l) => l.getClassName() !== 'InputLayer')?.name as string;
  const cls: Classifier = {
    model,
    head: metadata.head ?? "the loaded model's own",
    size: metadata.inputShape[0],
    source: sourceOf(metadata),
    raster: null,
    gray: false,
    layers: { firstHead: o.unfreezeFrom as string, firstBase, newFirstConv: null },
    loss,
  };
  return { cls, task };
}

/** The feature cache's context for a classifier: its model and pixel source, and what keys its cached rows. */
export function cacheContext(cls: Classifier, o: TrainOptions, skipped: SkippedFile[], preprocessing: unknown): Context {
  return {
    model: cls.model,
    o,
    skipped: [...skipped],
    size: cls.size,
    source: cls.source,
    cacheExtra: { size: cls.size, preprocessing, bands: cls.raster, dicom: o.dicom, gray: cls.gray },
    ...(cls.onnx ? { prefix: { predictor: cls.onnx.predictor, digest: `onnx:${cls.onnx.sha256}` } } : {}),
  };
}
