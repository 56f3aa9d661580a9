// Fine-tuning an imported ONNX base: the wrapped base is split at a cut; the part before it stays frozen (run
// once per image and cached), the part after it (the suffix) and the Keras head, compiled to forward ONNX ops,
// form one forward graph whose training step comes from the per-op gradient rules. The head's weights go back
// into the tfjs model; the suffix's into the base graph that is saved.
import { tf } from '../tfjs.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as OrtTypes from 'onnxruntime-node';
import { TransferkitError } from '../errors.js';
import { compileInference } from './onnx/compile.js';
import { prefixGraph, suffixGraph } from './onnx/cut.js';
import { decodeModel } from './onnx/decode.js';
import { type GraphTrainStep, compileGraphTrainStep } from './onnx/grad/graph-step.js';
import { inferShapes } from './onnx/grad/shapes.js';
import { mergeModels } from './onnx/merge.js';
import { type Dim, type ModelValue, type TensorValue, encodeModelValue } from './onnx/proto.js';
import { type Ort, createSession, loadOrt } from './ort-runtime.js';
import { OrtStepTrainer, openStepSession } from './ort-step-trainer.js';
import type { TrainerOptions } from './training.js';

const HEAD = 'head/';

/** A head weight in the forward graph: the initializer and where it lives in the tfjs model. */
interface HeadWeight {
  name: string;
  layer: tfl.layers.Layer;
  index: number;
}

/** A wrapped base split at `cut`, with the head after it. */
export interface FineTuneGraph {
  cut: string;
  /** One example's cut value (what the cache holds), without the batch. */
  cutShape: number[];
  /** Pixels → the cut value: the frozen prefix. */
  prefix: ModelValue;
  /** The cut value → the head's output: what trains. */
  forward: ModelValue;
  /** The suffix's trained initializers (forward names; shared ones renamed to their own copy). */
  suffixWeights: string[];
  headWeights: HeadWeight[];
  /** The wrapped base with the suffix's initializers given values (the trained base to save). */
  base(values: Map<string, Float32Array>): ModelValue;
}

const floatTensor = (t: TensorValue, values: Float32Array): TensorValue => ({
  ...t,
  raw: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
});

/** The head's trainable weights as forward-graph initializers: Dense layers (kernel and bias) only. */
function headWeights(head: tfl.LayersModel, forward: ModelValue): HeadWeight[] {
  const names = new Set(forward.graph.initializers.map((t) => t.name));
  const out: HeadWeight[] = [];
  const walk = (m: tfl.LayersModel) => {
    for (const layer of m.layers) {
      if ('layers' in layer) {
        walk(layer as unknown as tfl.LayersModel);
        continue;
      }
      if (!layer.trainable || layer.trainableWeights.length === 0) continue;
      const type = layer.getClassName();
      if (type !== 'Dense') throw new TransferkitError(`the head's ${type} layer ${layer.name} cannot train on an ONNX base's graph yet (Dense layers can)`);
      const use = (layer.getConfig() as { useBias?: boolean }).useBias !== false;
      for (const [index, suffix] of (use ? ['_W', '_B'] : ['_W']).entries()) {
        const name = `${HEAD}${layer.name}${suffix}`;
        if (!names.has(name)) throw new TransferkitError(`the compiled head has no weight ${name}`);
        out.push({ name, layer, index });
      }
    }
  };
  walk(head);
  return out;
}

/** The cut value's dims, batch first ('N'): inferred statically, else by running the prefix on one blank image. */
async function cutDims(base: ModelValue, cut: string): Promise<Dim[]> {
  const inferred = inferShapes(base.graph).get(cut)?.dims;
  if (inferred?.slice(1).every((d) => typeof d === 'number')) return ['N', ...inferred.slice(1)];
  const [input] = base.graph.inputs;
  const shape = (input.dims ?? []).slice(1);
  if (shape.some((d) => typeof d !== 'number')) throw new TransferkitError(`the ONNX base's input ${input.name} has no fixed image size`);
  const ort = await loadOrt();
  const prefix = { ...base, graph: { ...prefixGraph(base.graph, cut), outputs: [{ name: cut, dims: undefined }] } };
  const session = await createSession(ort, encodeModelValue(prefix));
  try {
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    const out = await session.run({ [input.name]: new ort.Tensor('float32', new Float32Array(n), [1, ...(shape as number[])]) });
    return ['N', ...(out[cut].dims as number[]).slice(1)];
  } finally {
    await session.release();
  }
}

/** Splits the wrapped `base` (pixels → features) at `cut` and puts `head` (features → output) after it. */
export async function fineTuneGraph(base: ModelValue, cut: string, head: tfl.LayersModel): Promise<FineTuneGraph> {
  const dims = await cutDims(base, cut);
  const suffix = suffixGraph(base.graph, cut, { name: cut, dims });
  // Initializers the prefix reads too get the suffix's own copy, so the cached prefix stays what it was.
  const taken = new Set(base.graph.initializers.map((t) => t.name));
  const copies = new Map<string, string>();
  for (const s of suffix.shared) {
    let name = `${s}_trained`;
    while (taken.has(name)) name += '_';
    taken.add(name);
    copies.set(s, name);
  }
  const rename = (v: string) => copies.get(v) ?? v;
  const suffixNodes = suffix.graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map(rename) }));
  const suffixInits = suffix.graph.initializers.map((t) => ({ ...t, name: rename(t.name) }));
  const suffixWeights = suffix.trainable.map(rename);
  const prefix: ModelValue = { ...base, graph: { ...prefixGraph(base.graph, cut), outputs: [{ name: cut, dims }] } };
  const headModel = decodeModel(compileInference(head).onnx);
  const merged = mergeModels({ ...base, graph: { ...suffix.graph, nodes: suffixNodes, initializers: suffixInits } }, headModel, HEAD);
  // The compiled head ends in an Identity of its activation: the step's output is the activation (fused with the loss).
  const last = merged.graph.nodes.find((n) => n.outputs[0] === merged.graph.outputs[0].name);
  const forward: ModelValue =
    last?.opType === 'Identity'
      ? {
          ...merged,
          graph: { ...merged.graph, nodes: merged.graph.nodes.filter((n) => n !== last), outputs: [{ ...merged.graph.outputs[0], name: last.inputs[0] }] },
        }
      : merged;
  return {
    cut,
    cutShape: dims.slice(1) as number[],
    prefix,
    forward,
    suffixWeights,
    headWeights: headWeights(head, forward),
    base(values) {
      const inits = new Map(prefix.graph.initializers.map((t) => [t.name, t]));
      for (const t of suffixInits) {
        const v = values.get(t.name);
        inits.set(t.name, v ? floatTensor(t, v) : t);
      }
      // A node both sides need (a Constant) is kept once.
      const produced = new Set(prefix.graph.nodes.flatMap((n) => n.outputs));
      const after = suffixNodes.filter((n) => !n.outputs.every((o) => produced.has(o)));
      return { ...base, graph: { ...base.graph, nodes: [...prefix.graph.nodes, ...after], initializers: [...inits.values()], valueInfo: [] } };
    },
  };
}

/** The default opset of a model's imports. */
const opsetOf = (m: ModelValue) => Math.max(17, ...m.opsetImports.filter((o) => o.domain === '' || o.domain === 'ai.onnx').map((o) => o.version));

/** Trains a `FineTuneGraph` in ONNX Runtime: `step` is fed cut values; dropout is off (the head is compiled for inference). */
export class GraphTrainer extends OrtStepTrainer<GraphTrainStep> {
  private constructor(
    ort: Ort,
    session: OrtTypes.InferenceSession,
    readonly ft: FineTuneGraph,
    step: GraphTrainStep,
    options: TrainerOptions,
  ) {
    super(
      ort,
      session,
      step,
      options,
      step.params.map((p) => p.initial.slice()),
    );
  }

  static async create(ft: FineTuneGraph, options: TrainerOptions): Promise<GraphTrainer> {
    const head = new Map(ft.headWeights.map((w) => [w.name, w]));
    const step = compileGraphTrainStep(ft.forward.graph, {
      input: ft.cut,
      output: ft.forward.graph.outputs[0].name,
      trainable: [...ft.suffixWeights, ...ft.headWeights.map((w) => w.name)],
      loss: options.loss,
      optimizer: options.optimizer,
      weighted: options.weighted,
      // Discriminative rates apply to the base's weights; the head trains at the full rate.
      ...(options.lrScale ? { lrScale: (w: string) => (head.has(w) ? 1 : (options.lrScale as (l: string) => number)(w)) } : {}),
      opset: opsetOf(ft.forward),
    });
    const { ort, session } = await openStepSession(step.onnx, 'the fine-tuning graph');
    return new GraphTrainer(ort, session, ft, step, options);
  }

  /** The current value of each trained initializer, by its forward-graph name. */
  weights(): Map<string, Float32Array> {
    return new Map(this.graph.params.map((p, i) => [p.name, this.values[i]]));
  }

  /** The head's weights into the tfjs head (the suffix's are taken with `trainedBase`). */
  writeBack(): void {
    const values = this.weights();
    for (const layer of new Set(this.ft.headWeights.map((w) => w.layer))) {
      const current = layer.getWeights();
      const next = current.map((w, i) => {
        const hw = this.ft.headWeights.find((h) => h.layer === layer && h.index === i);
        return hw ? tf.tensor(values.get(hw.name) as Float32Array, w.shape) : w;
      });
      layer.setWeights(next);
      tf.dispose(next.filter((w) => !current.includes(w)));
    }
  }

  /** The wrapped base with the trained suffix (what base.onnx holds after fine-tuning). */
  trainedBase(): ModelValue {
    return this.ft.base(this.weights());
  }
}
