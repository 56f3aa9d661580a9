import { existsSync } from 'node:fs';
import type * as tfl from '@tensorflow/tfjs-layers';
import { applicationIds, getApplication } from '../applications/index.js';
import { UsageError } from '../errors.js';
import { initBackend } from '../engine/backend.js';
import { addHead } from '../train/head.js';
import { baseModel } from '../model/introspect.js';
import { freeze, unfreezeFrom } from '../train/trainable.js';
import type { LoadModelOptions } from '../train/saved-model.js';
import type { ValuesOf } from './flag.js';
import type { IMAGE_BASE } from './flags/base.js';
import type { HEAD, MODEL } from './flags/model.js';
import type { SAVED_MODEL } from './flags/saved-model.js';
import type { strategy, unfreezeFrom as unfreezeFromFlag, unfreezeLastBlocks } from './flags/train.js';
import { type OnnxBase, isOnnxPath, loadOnnxBase } from '../engine/onnx-base.js';
import { fineTuneCut, graphBlocks } from '../engine/onnx/cut.js';
import { cachedBackbone, findBackbone } from '../weights/onnx-backbones.js';

type ModelValues = ValuesOf<(typeof MODEL)[number]>;
/** What resolving a --base reads: the base flags and where fine-tuning cuts it. */
type BaseValues = ValuesOf<(typeof IMAGE_BASE)[number] | typeof strategy | typeof unfreezeFromFlag | typeof unfreezeLastBlocks>;

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

/** The ONNX model a --base names (a registry backbone, a .onnx file or a model folder), or null for a zoo id. */
export function onnxBasePath(base: string): { path: string; id?: string } | null {
  if (applicationIds().includes(base)) return null;
  if (isOnnxPath(base)) return { path: base };
  const b = findBackbone(base);
  if (b) return { path: cachedBackbone(b), id: b.id };
  if (existsSync(base))
    throw new UsageError(`--base ${base}: no ONNX model there; give a .onnx file, or a folder with onnx/model.onnx (Transformers.js layout) or model.onnx`);
  return null;
}

/**
 * The imported ONNX base --base names, read and cut at its features, or undefined for a zoo base. ONNX-only flags
 * on a zoo base are refused; so is fine-tuning an ONNX base, after its names are checked.
 */
export function onnxBaseFrom(values: BaseValues): OnnxBase | undefined {
  const base = values.base;
  const where = base === undefined ? null : onnxBasePath(base);
  const onnxOnly = (['features-from', 'mean', 'std', 'unfreeze-last-blocks'] as const).filter((k) => values[k] !== undefined);
  if (!where) {
    if (onnxOnly.length)
      throw new UsageError(`--${onnxOnly[0]} applies to ONNX bases (a .onnx file, a model folder or a registry backbone), not --base ${base ?? ''}`.trim());
    return undefined;
  }
  if (values.alpha !== undefined || (values.weights !== undefined && values.weights !== 'imagenet'))
    throw new UsageError('--alpha and --weights apply to zoo bases; an ONNX base carries its own weights');
  const onnx = loadOnnxBase(
    where.path,
    { featuresFrom: values['features-from'], inputSize: values['input-size'], mean: values.mean, std: values.std },
    where.id,
  );
  const cut = onnxCut(onnx, values);
  return cut ? { ...onnx, cut } : onnx;
}

/**
 * --unfreeze-from / --unfreeze-last-blocks on an ONNX base: the cut fine-tuning trains from, found and checked
 * (either flag implies --strategy fine-tune); fine-tune without either says what to give.
 */
function onnxCut(onnx: OnnxBase, values: BaseValues): OnnxBase['cut'] {
  const from = values['unfreeze-from'];
  const last = values['unfreeze-last-blocks'];
  const strategy = values.strategy;
  const where = `see transferkit layers ${onnx.file}`;
  if (strategy === 'full')
    throw new UsageError(`--strategy full does not apply to an ONNX base: use --strategy fine-tune with --unfreeze-last-blocks N (${where})`);
  if (from === undefined && last === undefined) {
    if (strategy === 'fine-tune')
      throw new UsageError(`fine-tuning an ONNX base needs where to cut: --unfreeze-last-blocks N or --unfreeze-from BLOCK (${where})`);
    return undefined;
  }
  if (from !== undefined && last !== undefined) throw new UsageError('use either --unfreeze-from or --unfreeze-last-blocks, not both');
  if (strategy === 'feature-extraction')
    throw new UsageError(`--${from !== undefined ? 'unfreeze-from' : 'unfreeze-last-blocks'} fine-tunes: drop --strategy feature-extraction`);
  try {
    const cut = fineTuneCut(onnx.model.graph, { block: from, lastBlocks: last });
    return { block: cut.block, value: cut.value };
  } catch (err) {
    const names = graphBlocks(onnx.model.graph)
      .filter((b) => b.numbered)
      .map((b) => b.name);
    const flag = from !== undefined ? `--unfreeze-from ${from}` : `--unfreeze-last-blocks ${last}`;
    throw new UsageError(
      `${flag}: ${(err as Error).message.split('\n')[0]}${names.length ? `; its blocks: ${names.slice(-3).join(', ')}${names.length > 3 ? ', …' : ''}` : ''} (see transferkit layers ${onnx.file})`,
    );
  }
}
