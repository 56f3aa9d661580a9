import { existsSync } from 'node:fs';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type InputShape, type Pooling, applicationIds, getApplication } from '../applications/index.js';
import type { DicomSettings } from '../data/decode.js';
import { parseWindow } from '../data/dicom.js';
import { UsageError } from '../errors.js';
import { initBackend } from '../engine/backend.js';
import type { EngineName } from '../engine/predictor.js';
import { PREPROCESS_MODES, type PreprocessMode } from '../data/preprocess.js';
import { addHead } from '../train/model/head.js';
import { baseModel } from '../model/introspect.js';
import { freeze, unfreezeFrom } from '../train/model/trainable.js';
import type { LoadModelOptions } from '../train/saved/saved-model.js';
import { type Options, type Values, numberOption } from './command.js';
import { type OnnxBase, isOnnxPath, loadOnnxBase } from '../engine/onnx-base.js';
import { fineTuneCut, graphBlocks } from '../engine/onnx/cut.js';
import { cachedBackbone, findBackbone } from '../weights/onnx-backbones.js';

/** Where models run: ORT by default, tfjs-wasm where ORT does not load. */
export const ENGINE_OPTIONS: Options = { engine: { type: 'string' }, device: { type: 'string' } };
export const ENGINE_HELP = `
  --engine ort|wasm|cpu        where the model runs (default ort, else wasm if ORT does not load; TRANSFERKIT_ENGINE)
  --device auto|cuda|cpu       ort's device: CUDA where its provider is installed and a GPU is present (auto,
                               the default), else the CPU; cuda says in one line when it falls back (TRANSFERKIT_DEVICE)`;
export const engineFrom = (values: Values) => values.engine as EngineName | undefined;

/** A saved model given by --model (a transferkit folder, or a Keras model.keras / model.h5) and its scaling. */
export const SAVED_MODEL_OPTIONS: Options = { model: { type: 'string' }, preprocessing: { type: 'string' } };
export const SAVED_MODEL_HELP = `
  --model DIR|FILE.keras|FILE.h5   the model, instead of the first argument: a transferkit model folder, or a
                               Keras full model (Keras 3 .keras, Keras 2 .h5); images follow its input
                               (28x28x1 grayscale; no channel axis: HxW)
  --preprocessing MODE         caffe|tf|torch|unit|none: how images are scaled (unit = x/255, none = raw 0-255);
                               needed for a Keras model unless it nests a keras.applications base`;

/**
 * The model path and the remaining arguments: `--model M a b` or `M a b`; at least `min` arguments after it.
 */
export function savedModelArgs(values: Values, positionals: string[], usage: string, min = 1): { model: string; rest: string[]; options: LoadModelOptions } {
  const flag = values.model as string | undefined;
  const [model, ...rest] = flag ? [flag, ...positionals] : positionals;
  if (!model || rest.length < min) throw new UsageError(`missing argument: transferkit ${usage}`);
  const mode = values.preprocessing as string | undefined;
  if (mode !== undefined && !(PREPROCESS_MODES as readonly string[]).includes(mode))
    throw new UsageError(`--preprocessing must be one of ${PREPROCESS_MODES.join(', ')}; got '${mode}'`);
  return { model, rest, options: { preprocessing: mode as PreprocessMode | undefined } };
}

/** Flags that choose and shape a pretrained base, shared by every command that builds one. */
export const MODEL_OPTIONS: Options = {
  weights: { type: 'string' },
  'no-top': { type: 'boolean' },
  'input-shape': { type: 'string' },
  pooling: { type: 'string' },
  classes: { type: 'string' },
  'classifier-activation': { type: 'string' },
  alpha: { type: 'string' },
};

export const MODEL_OPTIONS_HELP = `
  --weights imagenet|none|FILE   pretrained weights (default: none, random initialisation)
  --no-top                       leave out the ImageNet classifier (Keras's include_top=False)
  --input-shape H,W,C            input size, e.g. 32,32,3 (default: the model's own, 224,224,3 for VGG)
  --pooling avg|max              global pooling of the features when --no-top
  --classes N                    classes of the top classifier (default 1000)
  --classifier-activation NAME   activation of the top classifier (default softmax; 'none' for logits)
  --alpha A                      MobileNet / MobileNetV2 / MobileNetV3 width multiplier (default 1.0)`;

function parseInputShape(raw: string): InputShape {
  const parts = raw.split(',').map((s) => s.trim());
  const dims = parts.map((p) => (p.toLowerCase() === 'none' ? null : Number(p)));
  if (dims.length !== 3 || dims.some((d) => d !== null && !(Number.isInteger(d) && d > 0)) || dims[2] === null) {
    throw new UsageError(`--input-shape must be H,W,C with positive integers, e.g. 32,32,3; got '${raw}'`);
  }
  return dims as InputShape;
}

const noneIsNull = (v: string) => (v.toLowerCase() === 'none' || v.toLowerCase() === 'null' ? null : v);

/** Builds the base model named by `id` with the shared flags; `initialize` false for a model that is only counted. */
export async function buildBase(id: string, values: Values, initialize = true): Promise<tfl.LayersModel> {
  const app = getApplication(id);
  const pooling = values.pooling as string | undefined;
  if (pooling !== undefined && pooling !== 'avg' && pooling !== 'max') throw new UsageError(`--pooling must be avg or max; got '${pooling}'`);
  const alpha = numberOption(values, 'alpha', (n) => n > 0, 'a positive number');
  if (alpha !== undefined && !app.spec.takesAlpha) {
    const ids = applicationIds().filter((i) => getApplication(i).spec.takesAlpha);
    throw new UsageError(`--alpha applies to ${ids.join(', ')} only, not ${id}`);
  }
  // A model that is only counted never computes: tfjs's plain cpu backend allocates its zeros for free.
  await initBackend(initialize ? undefined : 'cpu');
  return app.build({
    weights: values.weights === undefined ? null : noneIsNull(values.weights as string),
    includeTop: !values['no-top'],
    inputShape: values['input-shape'] ? parseInputShape(values['input-shape'] as string) : undefined,
    pooling: (pooling as Pooling | undefined) ?? null,
    classes: numberOption(values, 'classes', (n) => Number.isInteger(n) && n > 0, 'a positive integer'),
    classifierActivation: values['classifier-activation'] === undefined ? undefined : noneIsNull(values['classifier-activation'] as string),
    ...(alpha !== undefined ? { alpha } : {}),
    initialize,
  });
}

/** Flags that put a head on the base and set what trains. */
export const HEAD_OPTIONS: Options = {
  head: { type: 'string' },
  'freeze-base': { type: 'boolean' },
  'unfreeze-from': { type: 'string' },
};

/** A base with the head and freezing flags applied. */
export async function buildModel(id: string, values: Values, initialize = true): Promise<tfl.LayersModel> {
  if (values['freeze-base'] && values['unfreeze-from']) throw new UsageError('use either --freeze-base or --unfreeze-from, not both');
  const base = await buildBase(id, values, initialize);
  const model = values.head ? addHead(base, values.head as string) : base;
  if (values['freeze-base']) freeze(baseModel(model));
  if (values['unfreeze-from']) unfreezeFrom(model, values['unfreeze-from'] as string);
  return model;
}

/** Flags of the commands that run a pretrained base over images (train, extract). */
export const IMAGE_BASE_OPTIONS: Options = {
  base: { type: 'string' },
  alpha: { type: 'string' },
  weights: { type: 'string' },
  'input-size': { type: 'string' },
  'batch-size': { type: 'string' },
  'features-from': { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
};

export const IMAGE_BASE_HELP = `
  --base MODEL                 pretrained base: a zoo model (vgg16, resnet50, mobilenet, …; see transferkit layers
                               MODEL), an ONNX backbone from the registry (vit_b16, dinov2_s, convnext_t, …; see
                               transferkit weights list), a model.onnx, or a Transformers.js folder (onnx/model.onnx
                               beside preprocessor_config.json and config.json)
  --alpha A                    MobileNet / MobileNetV2 / MobileNetV3 width
  --weights imagenet|none|FILE weights of the base (default imagenet)
  --input-size N               images resized to N×N (default: the base's size; small images work better upscaled)
  --batch-size N               images per step (default 32; extract runs 64 at a time)
  --features-from NAME         ONNX bases: the node or value whose output is the features (default: pooler_output,
                               else last_hidden_state's CLS token, else the input of the last Gemm/MatMul classifier)
  --mean R,G,B / --std R,G,B   ONNX bases: normalisation after x·rescale (default: preprocessor_config.json's
                               image_mean/image_std, else ImageNet's)`;

const rgb = (values: Values, name: string): [number, number, number] | undefined => {
  const raw = values[name] as string | undefined;
  if (raw === undefined) return undefined;
  const v = raw.split(',').map(Number);
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x)) || (name === 'std' && v.some((x) => x <= 0)))
    throw new UsageError(`--${name} must be three numbers R,G,B${name === 'std' ? ' above 0' : ''}, e.g. 0.5,0.5,0.5; got '${raw}'`);
  return v as [number, number, number];
};

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
export function onnxBaseFrom(values: Values): OnnxBase | undefined {
  const base = values.base as string | undefined;
  const where = base === undefined ? null : onnxBasePath(base);
  const onnxOnly = ['features-from', 'mean', 'std', 'unfreeze-last-blocks'].filter((k) => values[k] !== undefined);
  if (!where) {
    if (onnxOnly.length)
      throw new UsageError(`--${onnxOnly[0]} applies to ONNX bases (a .onnx file, a model folder or a registry backbone), not --base ${base ?? ''}`.trim());
    return undefined;
  }
  if (values.alpha !== undefined || (values.weights !== undefined && values.weights !== 'imagenet'))
    throw new UsageError('--alpha and --weights apply to zoo bases; an ONNX base carries its own weights');
  const inputSize = numberOption(values, 'input-size', (n) => Number.isInteger(n) && n > 0, 'a positive integer');
  const onnx = loadOnnxBase(
    where.path,
    { featuresFrom: values['features-from'] as string | undefined, inputSize, mean: rgb(values, 'mean'), std: rgb(values, 'std') },
    where.id,
  );
  const cut = onnxCut(onnx, values);
  return cut ? { ...onnx, cut } : onnx;
}

/**
 * --unfreeze-from / --unfreeze-last-blocks on an ONNX base: the cut fine-tuning trains from, found and checked
 * (either flag implies --strategy fine-tune); fine-tune without either says what to give.
 */
function onnxCut(onnx: OnnxBase, values: Values): OnnxBase['cut'] {
  const from = values['unfreeze-from'] as string | undefined;
  const last = numberOption(values, 'unfreeze-last-blocks', (n) => Number.isInteger(n) && n > 0, 'a positive integer');
  const strategy = values.strategy as string | undefined;
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

/** How DICOM images are read: the window and the frame. */
export const DICOM_OPTIONS: Options = { window: { type: 'string' }, frame: { type: 'string' } };
export const DICOM_HELP = `
  --window W                   DICOM: auto (the file's WindowCenter/Width, else 1st–99th percentile; default),
                               dicom (the file's, required), C,W (e.g. 40,400) or lung|mediastinum|bone|brain
  --frame N                    DICOM multi-frame: the frame to read (1-based, default 1)`;

/** The DICOM settings the flags choose, or undefined when neither is given. */
export function dicomFrom(values: Values): DicomSettings | undefined {
  const frame = numberOption(values, 'frame', (n) => Number.isInteger(n) && n >= 1, 'a frame number (1 or more)');
  const window = values.window as string | undefined;
  if (window !== undefined) parseWindow(window);
  if (window === undefined && frame === undefined) return undefined;
  return { window: window ?? 'auto', ...(frame !== undefined ? { frame: frame - 1 } : {}) };
}
