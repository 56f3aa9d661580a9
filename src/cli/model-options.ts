import type * as tfl from '@tensorflow/tfjs-layers';
import { applicationIds, getApplication } from '../applications/index.js';
import { type BaseSpec, type ResolvedBase, refuseOnnxOnly, resolveBase } from '../bases/resolve.js';
import { UsageError } from '../errors.js';
import { initBackend } from '../engine/backend.js';
import { addHead } from '../train/model/head.js';
import { baseModel } from '../model/introspect.js';
import { freeze, unfreezeFrom } from '../train/model/trainable.js';
import type { LoadModelOptions } from '../train/saved/saved-model.js';
import type { ValuesOf } from './flag.js';
import type { IMAGE_BASE } from './flags/base.js';
import type { HEAD, MODEL } from './flags/model.js';
import type { SAVED_MODEL } from './flags/saved-model.js';
import type { from, strategy, unfreezeFrom as unfreezeFromFlag, unfreezeLastBlocks } from './flags/train.js';

type ModelValues = ValuesOf<(typeof MODEL)[number]>;
/** What resolving a --base reads: the base flags, where fine-tuning cuts it, and a saved model to start from. */
type BaseValues = ValuesOf<(typeof IMAGE_BASE)[number] | typeof strategy | typeof unfreezeFromFlag | typeof unfreezeLastBlocks> & ValuesOf<typeof from>;

/**
 * The model path and the remaining arguments: `--model M a b` or `M a b`; at least `min` arguments after it.
 */
export function savedModelArgs(
  values: ValuesOf<(typeof SAVED_MODEL)[number]>,
  positionals: string[],
  usage: string,
  min = 1,
): { model: string; rest: string[]; options: LoadModelOptions } {
  const flag = values.model;
  const [model, ...rest] = flag ? [flag, ...positionals] : positionals;
  if (!model || rest.length < min) throw new UsageError(`missing argument: transferkit ${usage}`);
  return { model, rest, options: { preprocessing: values.preprocessing } };
}

/** Builds the base model named by `id` with the shared flags; `initialize` false for a model that is only counted. */
export async function buildBase(id: string, values: ModelValues, initialize = true): Promise<tfl.LayersModel> {
  const app = getApplication(id);
  const { pooling, alpha } = values;
  if (alpha !== undefined && !app.spec.takesAlpha) {
    const ids = applicationIds().filter((i) => getApplication(i).spec.takesAlpha);
    throw new UsageError(`--alpha applies to ${ids.join(', ')} only, not ${id}`);
  }
  // A model that is only counted never computes: tfjs's plain cpu backend allocates its zeros for free.
  await initBackend(initialize ? undefined : 'cpu');
  return app.build({
    weights: values.weights ?? null,
    includeTop: !values['no-top'],
    inputShape: values['input-shape'],
    pooling: pooling ?? null,
    classes: values.classes,
    classifierActivation: values['classifier-activation'],
    ...(alpha !== undefined ? { alpha } : {}),
    initialize,
  });
}

/** A base with the head and freezing flags applied. */
export async function buildModel(id: string, values: ModelValues & ValuesOf<(typeof HEAD)[number]>, initialize = true): Promise<tfl.LayersModel> {
  if (values['freeze-base'] && values['unfreeze-from']) throw new UsageError('use either --freeze-base or --unfreeze-from, not both');
  const base = await buildBase(id, values, initialize);
  const model = values.head ? addHead(base, values.head) : base;
  if (values['freeze-base']) freeze(baseModel(model));
  if (values['unfreeze-from']) unfreezeFrom(model, values['unfreeze-from']);
  return model;
}

/** The base the flags name, as the library's spec (each flag already parsed by its declaration). */
export function baseSpecFrom(values: BaseValues): Omit<BaseSpec, 'base'> & { base: string | undefined } {
  return {
    base: values.base,
    alpha: values.alpha,
    weights: values.weights === undefined ? 'imagenet' : values.weights,
    inputSize: values['input-size'],
    mean: values.mean,
    std: values.std,
    featuresFrom: values['features-from'],
    strategy: values.strategy,
    unfreezeFrom: values['unfreeze-from'],
    unfreezeLastBlocks: values['unfreeze-last-blocks'],
  };
}

/**
 * The base --base names, resolved; undefined where there is none to resolve (a saved model's --from, or a
 * features file's own), after refusing the flags that only an ONNX base takes.
 */
export function baseFrom(values: BaseValues): { spec: Omit<BaseSpec, 'base'> & { base: string | undefined }; base?: ResolvedBase } {
  const spec = baseSpecFrom(values);
  if (spec.base === undefined || values.from) {
    refuseOnnxOnly(spec, spec.base);
    return { spec };
  }
  return { spec, base: resolveBase({ ...spec, base: spec.base }) };
}
