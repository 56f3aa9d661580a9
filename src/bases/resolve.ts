// What `--base` and its companions say, turned into a base: a zoo model (by id or Keras name), or an imported ONNX
// model (a registry backbone, a .onnx file, a Transformers.js folder) read, cut at its features and, to fine-tune,
// at the block training starts from. The CLI, the page, compare and trainImageClassifier all resolve here.
import { existsSync } from 'node:fs';
import { type ApplicationSpec, getApplication } from '../applications/index.js';
import type { PreprocessMode } from '../data/preprocess.js';
import { UsageError } from '../errors.js';
import { checkFineTuneStart } from './fine-tune-start.js';
import { fineTuneCut, graphBlocks } from '../engine/onnx/cut.js';
import { type OnnxBase, type OnnxPreprocessing, isOnnxPath, loadOnnxBase } from '../engine/onnx-base.js';
import type { Strategy } from '../train/shapes.js';
import { cachedBackbone } from '../weights/onnx-backbones.js';
import { type RegistryEntry, findBase } from './registry.js';

export type Rgb = [number, number, number];

/** What `--base` and its companions say. Only `base` is required. */
export interface BaseSpec {
  /**
   * A zoo id or Keras name (`mobilenet`, `ResNet50`), a registry backbone (`vit_b16`), a .onnx file, a folder
   * holding onnx/model.onnx (Transformers.js) or model.onnx, or an ONNX base already loaded.
   */
  base: string | OnnxBase;
  /** Zoo MobileNets: the width multiplier. */
  alpha?: number;
  /** Zoo bases: 'imagenet' (default), null for random weights, or a Keras .h5 file. ONNX bases carry their own. */
  weights?: 'imagenet' | null | string;
  /** Images are resized to inputSize × inputSize (default: the base's own size). */
  inputSize?: number;
  /** ONNX bases: normalisation after x·rescale (default: preprocessor_config.json's, else the registry's or ImageNet's). */
  mean?: Rgb;
  std?: Rgb;
  /** ONNX bases: the node or value whose output is the features (default: the pooled output). */
  featuresFrom?: string;
  /** Default: fine-tune where an ONNX base is given a cut, else feature-extraction. */
  strategy?: Strategy;
  /** Fine-tuning starts here: a zoo layer, or an ONNX base's block. */
  unfreezeFrom?: string;
  /** ONNX bases: fine-tune the last N blocks. */
  unfreezeLastBlocks?: number;
}

/** The training options a resolved base sets: `trainImageClassifier(dir, { ...base.options, epochs: 5 })`. */
export interface BaseOptions {
  base: string;
  alpha?: number;
  weights?: 'imagenet' | null | string;
  inputSize?: number;
  strategy: Strategy;
  unfreezeFrom?: string;
  onnxBase?: OnnxBase;
}

interface Resolved {
  id: string;
  /** The size images are resized to. */
  inputSize: number;
  strategy: Strategy;
  options: BaseOptions;
}

/** A zoo base (built by the trainer, with its head) or an imported ONNX base (read and cut). */
export type ResolvedBase =
  | (Resolved & { kind: 'zoo'; spec: ApplicationSpec; preprocessing: PreprocessMode; unfreezeFrom?: string })
  | (Resolved & { kind: 'onnx'; onnx: OnnxBase; preprocessing: OnnxPreprocessing; features: OnnxBase['features']; cut?: OnnxBase['cut'] });

/** The ONNX model a name means (a registry backbone, a .onnx file or a model folder), or null for a zoo base. */
export function onnxSource(base: string): { path: string; entry?: RegistryEntry & { kind: 'onnx' } } | null {
  const entry = findBase(base);
  if (entry?.kind === 'zoo') return null;
  if (isOnnxPath(base)) return { path: base };
  if (entry) return { path: cachedBackbone(entry.backbone), entry };
  if (existsSync(base))
    throw new UsageError(`--base ${base}: no ONNX model there; give a .onnx file, or a folder with onnx/model.onnx (Transformers.js layout) or model.onnx`);
  return null;
}

const ONNX_ONLY = [
  ['featuresFrom', 'features-from'],
  ['mean', 'mean'],
  ['std', 'std'],
  ['unfreezeLastBlocks', 'unfreeze-last-blocks'],
] as const;

/** Refuses what only ONNX bases take, on a zoo base (or none: `base` undefined). */
export function refuseOnnxOnly(spec: Omit<BaseSpec, 'base'>, base: string | undefined): void {
  const given = ONNX_ONLY.find(([key]) => spec[key] !== undefined);
  if (given) throw new UsageError(`--${given[1]} applies to ONNX bases (a .onnx file, a model folder or a registry backbone), not --base ${base ?? ''}`.trim());
}

function zooBase(spec: BaseSpec & { base: string }): ResolvedBase {
  refuseOnnxOnly(spec, spec.base);
  const app = getApplication(spec.base).spec;
  const strategy = spec.strategy ?? 'feature-extraction';
  checkFineTuneStart(strategy, spec.unfreezeFrom);
  const { base, alpha, weights, inputSize, unfreezeFrom } = spec;
  return {
    kind: 'zoo',
    id: app.id,
    spec: app,
    preprocessing: app.preprocessing,
    inputSize: inputSize ?? app.defaultSize,
    strategy,
    ...(unfreezeFrom !== undefined ? { unfreezeFrom } : {}),
    options: { base, alpha, weights, inputSize, strategy, unfreezeFrom },
  };
}

/** Where fine-tuning an ONNX base starts (`unfreezeFrom` a block, or the last N blocks), found and checked. */
function onnxCut(onnx: OnnxBase, spec: BaseSpec): OnnxBase['cut'] {
  const { unfreezeFrom: from, unfreezeLastBlocks: last, strategy } = spec;
  if (strategy === 'full')
    throw new UsageError(
      `--strategy full does not apply to an ONNX base: use --strategy fine-tune with --unfreeze-last-blocks N (see transferkit layers ${onnx.file})`,
    );
  // A base cut already (by the CLI, or a caller's earlier resolveBase) keeps its cut.
  if (last === undefined && (from === undefined || from === onnx.cut?.block)) return onnx.cut;
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
    const blocks = names.length ? `; its blocks: ${names.slice(-3).join(', ')}${names.length > 3 ? ', …' : ''}` : '';
    throw new UsageError(`${flag}: ${(err as Error).message.split('\n')[0]}${blocks} (see transferkit layers ${onnx.file})`);
  }
}

function onnxBase(spec: BaseSpec, source: OnnxBase | { path: string; entry?: RegistryEntry & { kind: 'onnx' } }): ResolvedBase {
  if (spec.alpha !== undefined || (spec.weights !== undefined && spec.weights !== 'imagenet'))
    throw new UsageError('--alpha and --weights apply to zoo bases; an ONNX base carries its own weights');
  const loaded =
    'path' in source
      ? loadOnnxBase(
          source.path,
          {
            featuresFrom: spec.featuresFrom,
            inputSize: spec.inputSize,
            mean: spec.mean,
            std: spec.std,
            ...(source.entry ? { known: { inputSize: source.entry.inputSize, mean: source.entry.backbone.mean, std: source.entry.backbone.std } } : {}),
          },
          source.entry?.id,
        )
      : source;
  const cut = onnxCut(loaded, spec);
  const onnx = cut ? { ...loaded, cut } : loaded;
  const strategy = spec.strategy ?? (cut ? 'fine-tune' : 'feature-extraction');
  checkFineTuneStart(strategy, cut?.value, { onnx: onnx.file });
  return {
    kind: 'onnx',
    id: onnx.id,
    onnx,
    preprocessing: onnx.preprocessing,
    features: onnx.features,
    ...(cut ? { cut } : {}),
    inputSize: onnx.preprocessing.size,
    strategy,
    options: { base: typeof spec.base === 'string' ? spec.base : onnx.file, weights: spec.weights, strategy, unfreezeFrom: spec.unfreezeFrom, onnxBase: onnx },
  };
}

/**
 * Resolves a base: a zoo model is looked up (its size, preprocessing and fine-tune layer checked), an ONNX model
 * is read, cut at its features and, to fine-tune, at `unfreezeFrom` / `unfreezeLastBlocks`. Flags that do not
 * apply to the base's kind are refused in one line.
 */
export function resolveBase(spec: BaseSpec): ResolvedBase {
  if (typeof spec.base !== 'string') return onnxBase(spec, spec.base);
  const source = onnxSource(spec.base);
  return source ? onnxBase(spec, source) : zooBase({ ...spec, base: spec.base });
}
