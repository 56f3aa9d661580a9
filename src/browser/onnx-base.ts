// An ONNX model as a base in the page, read by Node's code: a picked .onnx file, or a picked Transformers.js
// folder (onnx/model.onnx beside config.json and preprocessor_config.json), decoded, cut at its features and
// wrapped with its own preprocessing (engine/onnx-base-graph.ts), then run by ONNX Runtime Web.
import type * as tfl from '@tensorflow/tfjs-layers';
import { type OnnxBase, type OnnxBaseOptions, encodeFeatureBase, onnxBaseFrom } from '../engine/onnx-base-graph.js';
import { graphPredictor } from '../engine/graph-predictor.js';
import { GraphTrainer, fineTuneGraph } from '../engine/graph-trainer.js';
import { fineTuneCut } from '../engine/onnx/cut.js';
import { decodeOnnxFile } from '../engine/onnx/decode.js';
import { encodeModelValue } from '../engine/onnx/proto.js';
import type { Predictor } from '../engine/predictor.js';
import type { TrainerOptions } from '../engine/training.js';
import { TransferkitError } from '../errors.js';
import { addHead } from '../train/model/head.js';
import { standInBase } from '../train/model/stand-in.js';
import type { FolderFile } from './images.js';

/** A picked file with its path inside a picked folder (`webkitRelativePath`), or a lone file. */
type Picked = Blob & { readonly name: string; readonly webkitRelativePath?: string };

/** The path below the picked folder ('onnx/model.onnx'), or the file's name when it was picked alone. */
const inside = (f: Picked) => (f.webkitRelativePath ? f.webkitRelativePath.split('/').slice(1).join('/') : f.name);

async function json(f: Picked | undefined): Promise<Record<string, unknown> | undefined> {
  if (!f) return undefined;
  try {
    return JSON.parse(await f.text()) as Record<string, unknown>;
  } catch (err) {
    throw new TransferkitError(`${f.webkitRelativePath || f.name}: not valid JSON (${(err as Error).message.split('\n')[0]}); fix or remove it`);
  }
}

const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * An ONNX base from picked files: one .onnx file, or a folder's files (`<input webkitdirectory>`) holding
 * onnx/model.onnx or model.onnx with the configs beside them, as Node's `--base FOLDER` reads it.
 */
export async function onnxBase(picked: Picked | Iterable<Picked | FolderFile>, o: OnnxBaseOptions = {}): Promise<OnnxBase> {
  const files = Symbol.iterator in picked ? [...(picked as Iterable<Picked>)] : [picked as Picked];
  const byPath = new Map(files.map((f) => [inside(f), f]));
  const model = files.length === 1 && files[0].name.toLowerCase().endsWith('.onnx') ? files[0] : (byPath.get('onnx/model.onnx') ?? byPath.get('model.onnx'));
  if (!model)
    throw new TransferkitError(
      `${files[0]?.webkitRelativePath?.split('/')[0] || 'the picked files'}: no ONNX model there; pick a .onnx file, or a folder with onnx/model.onnx (Transformers.js layout) or model.onnx`,
    );
  const bytes = new Uint8Array(await model.arrayBuffer());
  const name = model.webkitRelativePath || model.name;
  const root = files.length > 1 || model.webkitRelativePath ? name.split('/')[0] : name.replace(/\.onnx$/i, '');
  return onnxBaseFrom(
    {
      model: decodeOnnxFile(name, bytes),
      file: name,
      sha256: hex(await crypto.subtle.digest('SHA-256', bytes)),
      id: root,
      preprocessor: await json(byPath.get('preprocessor_config.json')),
      config: await json(byPath.get('config.json')),
      configFile: 'preprocessor_config.json',
    },
    o,
  );
}

/** The base's features in ONNX Runtime Web: raw 0–255 NHWC pixels in (its preprocessing is in the graph), rows out. */
export function onnxFeatures(base: OnnxBase): Promise<Predictor> {
  const { size } = base.preprocessing;
  return graphPredictor(encodeFeatureBase(base), { imageShape: [size, size, 3], label: `the ONNX base ${base.file}` });
}

/** A new head on the base's feature vector (`spec` as Node's `--head`, e.g. 'dense:2:softmax'), as Node builds it. */
export const onnxHead = (dim: number, spec: string, o: { seed?: number } = {}): tfl.Sequential => addHead(standInBase(dim), spec, o);

/** A fine-tune of an ONNX base: where it was cut, the frozen prefix (pixels → the cut value) and the step trainer. */
export interface OnnxFineTune {
  cut: { block: string; value: string };
  /** Raw 0–255 NHWC pixels in, the cut value's rows out: what the trainer's steps take. */
  prefix: Predictor;
  trainer: GraphTrainer;
  /** Releases the prefix's and the trainer's sessions. */
  dispose(): Promise<void>;
}

/**
 * Fine-tunes an ONNX base from its last `lastBlocks` blocks (or from `block`) with `head` after it, by Node's
 * code: the cut (fineTuneCut), the suffix and head as one graph whose gradients the grad rules write
 * (fineTuneGraph), and its compiled training step (GraphTrainer) on ONNX Runtime Web.
 */
export async function onnxFineTune(
  base: OnnxBase,
  head: tfl.LayersModel,
  o: { lastBlocks?: number; block?: string } & Pick<TrainerOptions, 'loss' | 'optimizer' | 'seed'>,
): Promise<OnnxFineTune> {
  const { block, value } = fineTuneCut(base.prefix.graph, { block: o.block, lastBlocks: o.lastBlocks });
  const graph = await fineTuneGraph(base.prefix, value, head);
  const { size } = base.preprocessing;
  const prefix = await graphPredictor(encodeModelValue(graph.prefix), { imageShape: [size, size, 3], label: `the ONNX base ${base.file} up to ${block}` });
  const trainer = await GraphTrainer.create(graph, { loss: o.loss, optimizer: o.optimizer, seed: o.seed });
  return {
    cut: { block, value },
    prefix,
    trainer,
    async dispose() {
      await trainer.dispose();
      await prefix.dispose();
    },
  };
}
