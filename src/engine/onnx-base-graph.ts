// An imported ONNX model as a pretrained base, from its decoded graph and its folder's configs (no I/O here:
// Node reads the files in onnx-base.ts, a page hands over picked files in src/browser/onnx-base.ts). Cut at
// its feature value and wrapped so it takes what the zoo's compiled bases take: float32 NHWC images of raw 0–255
// pixels. The wrapper does the model's own preprocessing (rescale, mean, std, channels first) inside the graph,
// so the saved and exported models carry it too.
import { TransferkitError } from '../errors.js';
import type { ImageFit, Interpolation } from '../data/decode.js';
import { dataInputs, graphBlocks, prefixGraph, resolveValue } from './onnx/cut.js';
import { defaultFeatures } from './onnx/default-features.js';
import { pruneTokens } from './onnx/grad/prune-tokens.js';
import { inferShapes } from './onnx/grad/shapes.js';
import { DataType, type Dim, type GraphValue, type ModelValue, type NodeValue, type TensorValue, encodeModelValue } from './onnx/proto.js';

/** What the model's folder says about its inputs and outputs (Hugging Face's image processor and config). */
export interface OnnxPreprocessing {
  /** Images are resized to size × size. */
  size: number;
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** How images reach size × size: absent, squashed to it; else resized as this says, then centre-cropped. */
  fit?: ImageFit;
  /** The processor's resampling filter (its `resample`), where it names one. */
  interpolation?: Interpolation;
}

/** How to read an ONNX base: where its features are taken, and its size and normalisation where its folder says none. */
export interface OnnxBaseOptions {
  /** The feature value (a node or value name); default: the pooled output (see `defaultFeatures`). */
  featuresFrom?: string;
  inputSize?: number;
  mean?: [number, number, number];
  std?: [number, number, number];
  /** What the registry says of a known backbone: used where its folder has no preprocessor_config.json. */
  known?: { inputSize: number; mean: [number, number, number]; std: [number, number, number] };
}

/** An imported ONNX model read as a base: its graph, preprocessing, the value taken as features and the fine-tune cut. */
export interface OnnxBase {
  /** The registry id, or the model file's name. */
  id: string;
  /** The model.onnx file. */
  file: string;
  sha256: string;
  model: ModelValue;
  preprocessing: OnnxPreprocessing;
  /** Class names from config.json's id2label (the model's own classifier), if any. */
  labels?: string[];
  /** The value the features are taken from, and why it was chosen. */
  features: { value: string; rule: string };
  /** The frozen base: NHWC raw pixels in (`pixels`), the flattened features out (`features`). */
  prefix: ModelValue;
  /** Where fine-tuning cuts (--unfreeze-from / --unfreeze-last-blocks): the block and the value it reads. */
  cut?: { block: string; value: string };
}

const triple = (v: unknown, file: string, key: string): [number, number, number] | undefined => {
  if (v === undefined) return undefined;
  const a = typeof v === 'number' ? [v, v, v] : v;
  if (!Array.isArray(a) || a.length !== 3 || a.some((x) => typeof x !== 'number')) throw new TransferkitError(`${file}: ${key} must be 3 numbers`);
  return a as [number, number, number];
};

/** PIL's filter codes, as image processors store `resample`. */
const RESAMPLE: Record<number, Interpolation> = { 0: 'nearest', 1: 'lanczos3', 2: 'bilinear', 3: 'bicubic' };

/**
 * The square size a processor config gives the model, and how images reach it, as transformers' image processors
 * resize and crop: `size` as height × width or as `shortest_edge`, then `crop_size` when `do_center_crop`;
 * ConvNeXt's `crop_pct` (below 384: the shortest edge to size / crop_pct, then a size × size crop).
 */
function resizeOf(config: Record<string, unknown>): { size?: number; fit?: ImageFit } {
  const dims = (v: unknown): { height?: number; width?: number; shortest?: number } => {
    if (typeof v === 'number') return { height: v, width: v };
    const o = (v && typeof v === 'object' ? v : {}) as Record<string, number>;
    return { height: o.height, width: o.width, shortest: o.shortest_edge };
  };
  const size = dims(config.size);
  const crop = config.do_center_crop !== false && config.crop_size !== undefined ? dims(config.crop_size).height : undefined;
  if (config.do_resize === false) return { size: crop };
  if (size.shortest !== undefined) {
    const pct = config.crop_pct;
    if (typeof pct === 'number' && pct > 0)
      return size.shortest < 384
        ? { size: size.shortest, fit: { shortestEdge: Math.floor(size.shortest / pct) } }
        : { size: size.shortest, fit: { height: size.shortest, width: size.shortest } };
    return { size: crop ?? size.shortest, fit: { shortestEdge: size.shortest } };
  }
  if (size.height === undefined) return { size: crop };
  const resized = { height: size.height, width: size.width ?? size.height };
  return { size: crop ?? size.height, fit: resized };
}

/**
 * The model's preprocessing from its processor config (preprocessor_config.json, read by the caller; `file` names
 * it in errors), else the graph's input size and ImageNet's mean/std.
 */
export function preprocessingFrom(found: Record<string, unknown> | undefined, file: string, graph: GraphValue, o: OnnxBaseOptions = {}): OnnxPreprocessing {
  const config = found ?? {};
  const known = found ? undefined : o.known;
  const dims = dataInputs(graph)[0]?.dims;
  const fixed = dims && typeof dims[2] === 'number' && dims[2] > 0 ? dims[2] : undefined;
  const resize = o.inputSize === undefined ? resizeOf(config) : {};
  const size = o.inputSize ?? resize.size ?? fixed ?? known?.inputSize ?? 224;
  if (fixed !== undefined && size !== fixed)
    throw new TransferkitError(`the ONNX model takes ${fixed}×${fixed} images (its input is fixed); --input-size ${size} does not fit`);
  const normalize = config.do_normalize !== false;
  return {
    size,
    rescale: config.do_rescale === false ? 1 : typeof config.rescale_factor === 'number' ? config.rescale_factor : 1 / 255,
    mean: o.mean ?? (normalize ? (triple(config.image_mean, file, 'image_mean') ?? known?.mean) : undefined) ?? (normalize ? [0.485, 0.456, 0.406] : [0, 0, 0]),
    std: o.std ?? (normalize ? (triple(config.image_std, file, 'image_std') ?? known?.std) : undefined) ?? (normalize ? [0.229, 0.224, 0.225] : [1, 1, 1]),
    ...(resize.fit ? { fit: resize.fit } : {}),
    ...(typeof config.resample === 'number' && RESAMPLE[config.resample] ? { interpolation: RESAMPLE[config.resample] } : {}),
  };
}

/** Class names from a model config's id2label (the model's own classifier), if any. */
function labelsFrom(config: Record<string, unknown> | undefined): string[] | undefined {
  const id2label = config?.id2label as Record<string, string> | undefined;
  if (!id2label || typeof id2label !== 'object') return undefined;
  const entries = Object.entries(id2label).sort(([a], [b]) => Number(a) - Number(b));
  return entries.map(([, v]) => String(v));
}

const floats = (name: string, values: number[], dims: number[]): TensorValue => {
  const data = Float32Array.from(values);
  return { name, dims, dataType: DataType.FLOAT, raw: new Uint8Array(data.buffer) };
};

/**
 * The base graph behind a wrapper: `pixels` (N, H, W, 3; 0–255) → x·rescale/std − mean/std → channels first →
 * the model up to `feature` → flattened to (N, features).
 */
function wrapPrefix(prefix: GraphValue, p: OnnxPreprocessing): GraphValue {
  const [input, ...more] = dataInputs(prefix);
  if (!input || more.length)
    throw new TransferkitError(`the ONNX base must take one image input; its feature value depends on ${dataInputs(prefix).length} inputs`);
  const dims = input.dims;
  const channelsLast = dims?.length === 4 && dims[3] === 3 && dims[1] !== 3;
  if (dims && dims.length !== 4) throw new TransferkitError(`the ONNX base's input ${input.name} has rank ${dims.length}; an image input is (N, 3, H, W)`);
  const used = new Set([...prefix.nodes.flatMap((n) => [...n.inputs, ...n.outputs]), ...prefix.initializers.map((t) => t.name)]);
  const fresh = (n: string) => {
    let name = `transferkit_${n}`;
    while (used.has(name)) name += '_';
    used.add(name);
    return name;
  };
  const [pixels, scale, shift, scaled, normalized, features] = ['pixels', 'scale', 'shift', 'scaled', 'normalized', 'features'].map(fresh);
  const node = (opType: string, inputs: string[], output: string, attributes: NodeValue['attributes'] = {}): NodeValue => ({
    opType,
    inputs,
    outputs: [output],
    name: `${output}_node`,
    attributes,
  });
  const pre: NodeValue[] = [
    node('Mul', [pixels, scale], scaled),
    node('Sub', [scaled, shift], channelsLast ? input.name : normalized),
    ...(channelsLast ? [] : [node('Transpose', [normalized], input.name, { perm: [0, 3, 1, 2] })]),
  ];
  const output = prefix.outputs[0].name;
  const batch = dims && typeof dims[0] === 'number' ? dims[0] : 'N';
  return {
    name: prefix.name,
    nodes: [...pre, ...prefix.nodes, node('Flatten', [output], features, { axis: 1 })],
    initializers: [
      floats(
        scale,
        [0, 1, 2].map((c) => p.rescale / p.std[c]),
        [3],
      ),
      floats(
        shift,
        [0, 1, 2].map((c) => p.mean[c] / p.std[c]),
        [3],
      ),
      ...prefix.initializers,
    ],
    inputs: [{ name: pixels, dims: [batch, p.size, p.size, 3] }],
    outputs: [{ name: features, dims: [batch, 'features'] }],
  };
}

/** A decoded ONNX model and what its folder says (the configs, read by the caller), as a base cut at its features. */
export interface OnnxBaseSource {
  model: ModelValue;
  /** The model file's path (or name, in a browser), its sha256, and the base's id. */
  file: string;
  sha256: string;
  id: string;
  /** preprocessor_config.json and config.json, where the folder has them; `configFile` names the first in errors. */
  preprocessor?: Record<string, unknown>;
  config?: Record<string, unknown>;
  configFile: string;
}

/** The base of a decoded model: its preprocessing, its feature value and the wrapped prefix. */
export function onnxBaseFrom(src: OnnxBaseSource, o: OnnxBaseOptions = {}): OnnxBase {
  const { model } = src;
  const preprocessing = preprocessingFrom(src.preprocessor, src.configFile, model.graph, o);
  const cut = o.featuresFrom
    ? { graph: model.graph, value: resolveValue(model.graph, o.featuresFrom), rule: `--features-from ${o.featuresFrom}` }
    : defaultFeatures(model.graph);
  const prefix: ModelValue = { ...model, graph: wrapPrefix(prefixGraph(cut.graph, cut.value), preprocessing) };
  const labels = labelsFrom(src.config);
  return {
    id: src.id,
    file: src.file,
    sha256: src.sha256,
    model,
    preprocessing,
    ...(labels ? { labels } : {}),
    features: { value: cut.value, rule: cut.rule },
    prefix,
  };
}

/** The version of the default (ai.onnx) domain a model imports. */
const defaultOpset = (m: ModelValue) => m.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;

/** The wrapped base as ONNX bytes (weights inline): what a saved model keeps as base.onnx. */
export const encodeBase = (base: OnnxBase): Uint8Array => encodeModelValue(base.prefix);

/**
 * The wrapped base as ONNX bytes for computing features: the token-liveness rewrite applied where the features read
 * some tokens only (a ViT's class token: its last block computes the rest for that token alone, ~7% of ViT-B/16's
 * forward), the same features. Saved bases stay `encodeBase`'s (`whole`, when given), whose value names
 * fine-tuning cuts refer to.
 */
export function encodeFeatureBase(base: OnnxBase, whole?: Uint8Array): Uint8Array {
  const { graph } = base.prefix;
  const pruned = pruneTokens(graph, inferShapes(graph), defaultOpset(base.prefix) ?? 17);
  // Nothing pruned (a CNN, a mean-pooled ViT): `encodeBase`'s bytes, where the caller has them, are these.
  return pruned === graph && whole ? whole : encodeModelValue({ ...base.prefix, graph: pruned });
}

/** What `transferkit summary model.onnx` prints. */
export function onnxSummary(base: OnnxBase) {
  const { graph } = base.model;
  const blocks = graphBlocks(graph);
  const dims = (v: { dims: Dim[] | undefined }) => (v.dims ?? []).map(String);
  const input = dataInputs(graph)[0];
  return {
    file: base.file,
    sha256: base.sha256,
    producer: base.model.producerName,
    opset: defaultOpset(base.model) ?? null,
    nodes: graph.nodes.length,
    totalParams: blocks.reduce((n, b) => n + b.params, 0),
    blocks: blocks.length,
    input: { name: input?.name ?? '', dims: input ? dims(input) : [] },
    outputs: graph.outputs.map((o) => ({ name: o.name, dims: dims(o) })),
    features: base.features,
    preprocessing: base.preprocessing,
    ...(base.labels ? { labels: base.labels } : {}),
  };
}
