// Training a classifier on an ONNX base in the page, as Node's `transferkit train --base model.onnx` does: the
// base's features computed once, Node's default head for ONNX bases (dropout, dense) behind a parameter-free
// stand-in, the same phase plan and epoch loop (browser/train.ts), and with `lastBlocks` (or `unfreezeFrom` a
// block) a fine-tune of the base's last blocks: its cut, suffix and head as one graph (fineTuneGraph, GraphTrainer).
import { type OnnxBase, encodeFeatureBase } from '../engine/onnx-base-graph.js';
import { graphPredictor } from '../engine/graph-predictor.js';
import { GraphTrainer, fineTuneGraph } from '../engine/graph-trainer.js';
import { fineTuneCut } from '../engine/onnx/cut.js';
import { encodeModelValue } from '../engine/onnx/proto.js';
import { optimizerSpec } from '../engine/optimizers.js';
import { TransferkitError } from '../errors.js';
import { checkFineTuneStart } from '../bases/fine-tune-start.js';
import { DEFAULT_SEED } from '../train/defaults.js';
import { DEFAULT_HEAD_DROPOUT, addHead } from '../train/model/head.js';
import { STAND_IN, standInBase } from '../train/model/stand-in.js';
import { lossOf } from '../train/model/task-output.js';
import type { PickedFolder } from './images.js';
import type { TrainBase } from './phase-features.js';
import { type BrowserTrainOptions, type BrowserTrainResult, trainOn } from './train.js';

/** The page's options on an ONNX base: `lastBlocks` (Node's --unfreeze-last-blocks) or `unfreezeFrom` a block. */
export type OnnxTrainOptions = Omit<BrowserTrainOptions, 'lrDecay'> & { lastBlocks?: number };

/** A run on an ONNX base: after a fine-tune, `baseOnnx` is the base with its trained suffix (Node's base.onnx). */
export interface OnnxTrainResult extends BrowserTrainResult {
  baseOnnx?: Uint8Array;
}

/**
 * Trains a new head on an ONNX base (`onnxBase(files)`) over the picked folder, as Node trains on `--base
 * model.onnx`; with `strategy: 'fine-tune'` and `lastBlocks` (or `unfreezeFrom`), the base's last blocks after it.
 * The result's model is the head behind a stand-in for the base (as Node's saved head.onnx beside base.onnx).
 */
export async function trainOnnxClassifier(base: OnnxBase, folder: PickedFolder, o: OnnxTrainOptions = {}): Promise<OnnxTrainResult> {
  if ((o as BrowserTrainOptions).lrDecay !== undefined)
    throw new TransferkitError('lrDecay applies to zoo bases; an imported ONNX base fine-tunes its suffix at one rate');
  const fineTune = o.strategy === 'fine-tune';
  checkFineTuneStart(o.strategy, o.lastBlocks !== undefined ? String(o.lastBlocks) : o.unfreezeFrom, { onnx: base.file });
  const cut = fineTune ? fineTuneCut(base.model.graph, { block: o.unfreezeFrom, lastBlocks: o.lastBlocks }) : undefined;
  if (cut) o.onEvent?.({ type: 'notice', message: `fine-tuning ${base.file} from ${cut.block} (its input ${cut.value})` });
  const { size } = base.preprocessing;
  const features = () => graphPredictor(encodeFeatureBase(base), { imageShape: [size, size, 3], label: `the ONNX base ${base.file}` });
  const { lastBlocks, ...rest } = o;
  let baseOnnx: Uint8Array | undefined;
  const r = await trainOn(
    folder,
    rest,
    async (want) => {
      const dim = await features().then(async (p) => {
        const d = p.outputShape(1)[1];
        await p.dispose();
        return d;
      });
      const head = `dropout:${DEFAULT_HEAD_DROPOUT.onnx}, dense:${want.units}:${want.activation}`;
      const model = addHead(standInBase(dim), head, { seed: o.seed ?? DEFAULT_SEED });
      const loss = lossOf(want.units === 1 ? 'binary' : 'categorical', {});
      return {
        model,
        head,
        size,
        // Raw 0–255 pixels: the base's own preprocessing is inside its graph.
        mode: 'none',
        key: { base: base.id, sha256: base.sha256, features: base.features.value, cut: cut?.value },
        layers: { firstHead: model.layers[1].name, firstBase: STAND_IN, newFirstConv: null },
        prefix: () => features(),
        runner: async (phase) => {
          if (!cut || phase.strategy !== 'fine-tune') return undefined;
          const graph = await fineTuneGraph(base.prefix, cut.value, model);
          const label = `the ONNX base ${base.file} up to ${cut.block}`;
          return {
            prefix: () => graphPredictor(encodeModelValue(graph.prefix), { imageShape: [size, size, 3], label }),
            trainer: (t) => GraphTrainer.create(graph, { loss, optimizer: optimizerSpec(undefined), seed: t.seed, weighted: t.weighted }),
            // As Node's phase: base.onnx becomes the prefix with the trained suffix.
            finish: (trainer) => {
              baseOnnx = encodeModelValue((trainer as GraphTrainer).trainedBase());
            },
          };
        },
      } satisfies TrainBase;
    },
    cut?.value,
  );
  return baseOnnx ? { ...r, baseOnnx } : r;
}
