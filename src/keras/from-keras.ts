// A Keras model config (Keras 2's `model_config`, or Keras 3's `config.json` with module / registered_name /
// DTypePolicy / `__keras_tensor__` nodes) rewritten as the Keras-2-style topology that tfjs-layers deserializes.
import { TransferkitError } from '../errors.js';
import { checkTopology } from './graph-check.js';

type Json = Record<string, unknown>;

/**
 * Keras layer classes that tfjs-layers (or transferkit's own registered layers) rebuilds with the same
 * arguments and weights: the classes of keras.applications' CNNs, the usual heads and small Keras convnets.
 * Anything else is refused by name and class rather than guessed.
 */
export const LOADABLE_CLASSES = [
  'InputLayer',
  'UnitNormalization',
  'Dense',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'Dropout',
  'Flatten',
  'Reshape',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'ZeroPadding2D',
  'Add',
  'Multiply',
  'Concatenate',
  'Rescaling',
  'Normalization',
  'Sequential',
  'Functional',
  'Model',
] as const;

const LOADABLE = new Set<string>(LOADABLE_CLASSES);

/** Keras-2 spellings of the same classes. */
const ALIASES: Record<string, string> = { Convolution2D: 'Conv2D', Convolution1D: 'Conv1D', MaxPool2D: 'MaxPooling2D', AvgPool2D: 'AveragePooling2D' };

/** Keras 3 arguments tfjs does not know, and the value at which dropping them changes nothing. */
const IGNORABLE: Record<string, unknown> = {
  optional: false,
  ragged: false,
  synchronized: false,
  renorm: false,
  renorm_clipping: null,
  renorm_momentum: undefined,
  quantization_config: null,
  lora_rank: null,
  lora_alpha: null,
  groups: 1,
  keepdims: false,
  invert: false,
  negative_slope: 0,
  threshold: 0,
  autocast: undefined,
  shared_object_id: undefined,
  input_axes: null,
  output_axes: null,
};

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function dtypeName(dtype: unknown, where: string): string | undefined {
  if (dtype === undefined || dtype === null) return undefined;
  const name = typeof dtype === 'string' ? dtype : isObject(dtype) && isObject(dtype.config) ? String(dtype.config.name) : undefined;
  if (name !== 'float32')
    throw new TransferkitError(`${where}: dtype ${JSON.stringify(name ?? dtype)} is not supported (float32 only); save the model in float32`);
  return name;
}

/** A Keras 3 serialized object `{module, class_name, config, registered_name}` → tfjs's `{class_name, config}`. */
function plainObject(value: unknown): unknown {
  if (!isObject(value) || typeof value.class_name !== 'string') return value;
  const config = isObject(value.config) ? { ...value.config } : {};
  for (const k of ['input_axes', 'output_axes']) delete config[k];
  // Keras 3 calls tfjs's 'normal' 'untruncated_normal'.
  if (config.distribution === 'untruncated_normal') config.distribution = 'normal';
  return { class_name: value.class_name, config };
}

/** The `[layer, node, tensor]` triples a Keras 3 node's args refer to, in order. */
function historyOf(value: unknown, out: unknown[][]): unknown[][] {
  if (Array.isArray(value)) value.forEach((v) => historyOf(v, out));
  else if (isObject(value) && value.class_name === '__keras_tensor__' && isObject(value.config)) out.push(value.config.keras_history as unknown[]);
  return out;
}

function inboundNodes(nodes: unknown, where: string): unknown[] {
  if (!Array.isArray(nodes)) return [];
  return nodes.map((node) => {
    if (Array.isArray(node)) return node.map((t) => (Array.isArray(t) ? [t[0], t[1], t[2], {}] : t)); // Keras 2 already
    if (!isObject(node)) throw new TransferkitError(`${where}: an inbound node is neither a list nor an object`);
    const history = historyOf(node.args, []);
    if (history.length === 0) throw new TransferkitError(`${where}: an inbound node has no input tensors`);
    return history.map((h) => [h[0], h[1], h[2], {}]);
  });
}

/** Keras 3 writes one input/output as a bare triple; tfjs wants a list of triples. */
const triples = (v: unknown) => (Array.isArray(v) && typeof v[0] === 'string' ? [v] : v);

interface Context {
  file: string;
  unsupported: string[];
  /** Models nested around the one being converted. */
  depth: number;
}

/** Deeper than any real model; the conversion recurses once per level. */
const MAX_NESTING = 32;

function layerConfig(className: string, config: Json, where: string): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(config)) {
    if (k in IGNORABLE) {
      const neutral = IGNORABLE[k];
      if (neutral !== undefined && v != null && v !== neutral) {
        throw new TransferkitError(`${where}: ${k}=${JSON.stringify(v)} is not supported by transferkit's ${className}`);
      }
      continue;
    }
    if (k === 'dtype') {
      const d = dtypeName(v, where);
      if (d) out.dtype = d;
    } else if (k === 'batch_shape') out.batch_input_shape = v;
    // tf.keras 2.x writes BatchNormalization's axis as a list after building ([3]); tfjs takes one number.
    else if (k === 'axis' && className === 'BatchNormalization' && Array.isArray(v) && v.length === 1) out.axis = v[0];
    else if (/_(initializer|regularizer|constraint)$/.test(k)) out[k] = plainObject(v);
    else if (k === 'activation' && isObject(v)) out[k] = (v as Json).class_name ?? v;
    else out[k] = v;
  }
  if (className === 'Rescaling' && out.offset === undefined) out.offset = 0;
  return out;
}

function convertLayer(entry: unknown, ctx: Context, inSequential: boolean): Json {
  if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) {
    throw new TransferkitError(`${ctx.file}: a layer entry lacks class_name or config; the model config is damaged`);
  }
  const className = ALIASES[entry.class_name] ?? entry.class_name;
  const name = String(entry.config.name ?? entry.name ?? '?');
  const where = `${ctx.file}: layer ${name} (${className})`;
  const module = typeof entry.module === 'string' ? entry.module : 'keras';
  const custom =
    !/^(keras|tf_keras|tensorflow)(\.|$)/.test(module) ||
    (entry.registered_name && entry.registered_name !== className && entry.registered_name !== 'Functional');
  if (!LOADABLE.has(className) || custom) {
    ctx.unsupported.push(`${name} (${entry.registered_name && custom ? String(entry.registered_name) : className})`);
    return { class_name: className, config: { name } };
  }
  let out: Json;
  if (className === 'Sequential' || className === 'Functional' || className === 'Model') {
    out = { class_name: className === 'Model' ? 'Functional' : className, config: convertModelConfig(className, entry.config, ctx) };
  } else {
    out = { class_name: className, config: layerConfig(className, entry.config, where) };
  }
  if (!inSequential) {
    out.name = entry.name ?? name;
    out.inbound_nodes = inboundNodes(entry.inbound_nodes, where);
  }
  return out;
}

function convertModelConfig(className: string, config: Json, ctx: Context): Json {
  const sequential = className === 'Sequential';
  if (ctx.depth >= MAX_NESTING) throw new TransferkitError(`${ctx.file}: models nested more than ${MAX_NESTING} deep; the model config is damaged`);
  const layers = config.layers;
  if (!Array.isArray(layers)) throw new TransferkitError(`${ctx.file}: model ${String(config.name)} has no layer list; the model config is damaged`);
  ctx.depth++;
  const out: Json = { name: config.name, layers: layers.map((l) => convertLayer(l, ctx, sequential)) };
  ctx.depth--;
  if (!sequential) {
    out.input_layers = triples(config.input_layers);
    out.output_layers = triples(config.output_layers);
  }
  if (sequential && config.trainable === false) out.trainable = false;
  // Keras 2 repeats batch_input_shape on later layers of a Sequential; only the first one's counts.
  if (sequential) for (const l of (out.layers as Json[]).slice(1)) if (l.class_name !== 'InputLayer' && isObject(l.config)) delete l.config.batch_input_shape;
  // Keras 3 Sequential without an InputLayer says its input in build_input_shape; tfjs needs it on the first layer.
  const first = (out.layers as Json[])[0];
  if (
    sequential &&
    Array.isArray(config.build_input_shape) &&
    first &&
    first.class_name !== 'InputLayer' &&
    isObject(first.config) &&
    !first.config.batch_input_shape &&
    first.class_name !== 'Sequential' &&
    first.class_name !== 'Functional'
  ) {
    first.config.batch_input_shape = config.build_input_shape;
  }
  return out;
}

/**
 * Rewrites a Keras model config (either major version) as tfjs-layers' topology JSON. Every layer class
 * tfjs cannot rebuild is listed in one error, by layer name and class.
 */
export function tfjsTopology(kerasConfig: unknown, file: string): Json {
  if (!isObject(kerasConfig) || typeof kerasConfig.class_name !== 'string') {
    throw new TransferkitError(`${file}: the model config has no class_name; not a saved Keras model`);
  }
  const ctx: Context = { file, unsupported: [], depth: 0 };
  const top = convertLayer({ ...kerasConfig, config: kerasConfig.config ?? {} }, ctx, true);
  if (ctx.unsupported.length) {
    throw new TransferkitError(
      `${file}: ${ctx.unsupported.length} layer(s) transferkit cannot build: ${ctx.unsupported.slice(0, 8).join(', ')}${ctx.unsupported.length > 8 ? ', …' : ''} (loadable classes: ${LOADABLE_CLASSES.join(', ')})`,
    );
  }
  checkTopology(top, file);
  return top;
}
