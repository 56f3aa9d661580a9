// A tfjs-layers model as the config.json Keras 3 writes (serialization_lib's `{module, class_name, config,
// registered_name, build_config}` per object, DTypePolicy dtypes, `__keras_tensor__` inbound nodes), and as the
// Keras 2 `model_config` of a full-model .h5.
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../errors.js';
import { isContainer } from '../model/introspect.js';
import { LOADABLE_CLASSES } from './from-keras.js';

type Json = Record<string, unknown>;
type Layer = tfl.layers.Layer;
type Shape = Array<number | null>;

/** Transferkit writes the classes it reads back (their tfjs config keys are Keras 3's argument names). */
const WRITABLE_CLASSES = LOADABLE_CLASSES;

const WRITABLE = new Set<string>(WRITABLE_CLASSES);

const POLICY = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** tfjs `{class_name, config}` → Keras 3's serialized initializer / regularizer / constraint. */
function kerasObject(value: unknown, module: string): unknown {
  if (!isObject(value) || typeof value.class_name !== 'string') return value ?? null;
  const config = { ...(value.config as Json) };
  if (config.distribution === 'normal') config.distribution = 'untruncated_normal';
  return { module, class_name: value.class_name, config, registered_name: null };
}

const MODULES: Array<[RegExp, string]> = [
  [/_initializer$/, 'keras.initializers'],
  [/_regularizer$/, 'keras.regularizers'],
  [/_constraint$/, 'keras.constraints'],
];

function leafConfig(className: string, config: Json): Json {
  const out: Json = { name: config.name, trainable: config.trainable ?? true, dtype: POLICY };
  for (const [k, v] of Object.entries(config)) {
    if (k === 'name' || k === 'trainable' || k === 'dtype') continue;
    const module = MODULES.find(([re]) => re.test(k))?.[1];
    out[k] = module ? kerasObject(v, module) : v;
  }
  if (className === 'ReLU') Object.assign(out, { negative_slope: 0, threshold: 0 });
  return out;
}

function shapeOf(layer: Layer, tensorIndex: number): Shape {
  const s = layer.outputShape as Shape | Shape[];
  return (Array.isArray(s[0]) ? (s as Shape[])[tensorIndex] : s) as Shape;
}

/** The shape the layer was built for (its first call), as build_config's input_shape. */
function inputShapeOf(layer: Layer): Shape | Shape[] {
  const x = layer.getInputAt(0) as tfl.SymbolicTensor | tfl.SymbolicTensor[];
  return Array.isArray(x) ? x.map((t) => t.shape) : x.shape;
}

function kerasTensor(scope: tfl.LayersModel, history: unknown[]): Json {
  const [name, node, index] = history as [string, number, number];
  return { class_name: '__keras_tensor__', config: { shape: shapeOf(scope.getLayer(name), index), dtype: 'float32', keras_history: [name, node, index] } };
}

/** One layer (or nested model) of `scope` as Keras 3 serializes it; `json` is its tfjs (Keras 2 style) entry. */
function serializeLayer(layer: Layer, json: Json, scope: tfl.LayersModel | null, unsupported: string[]): Json {
  const className = layer.getClassName();
  if (!WRITABLE.has(className)) unsupported.push(`${layer.name} (${className})`);
  const config = json.config as Json;
  let out: Json;
  if (className === 'InputLayer') {
    out = {
      module: 'keras.layers',
      class_name: 'InputLayer',
      config: { batch_shape: config.batch_input_shape, dtype: 'float32', sparse: false, name: config.name },
      registered_name: null,
    };
  } else if (isContainer(layer)) {
    out = serializeModel(layer, config, unsupported);
  } else {
    const shape = inputShapeOf(layer);
    out = { module: 'keras.layers', class_name: className, config: leafConfig(className, config), registered_name: null, build_config: { input_shape: shape } };
  }
  if (scope) {
    out.name = layer.name;
    out.inbound_nodes = ((json.inbound_nodes ?? []) as unknown[][][]).map((node) => {
      const tensors = node.map((h) => kerasTensor(scope, h));
      return { args: [tensors.length === 1 ? tensors[0] : tensors], kwargs: {} };
    });
  }
  return out;
}

const single = (v: unknown) => (Array.isArray(v) && v.length === 1 ? v[0] : v);

function serializeModel(model: tfl.LayersModel, config: Json, unsupported: string[]): Json {
  const entries = config.layers as Json[];
  const layerOf = (e: Json) => model.getLayer(String(e.name ?? (e.config as Json).name));
  if (model.getClassName() === 'Sequential') {
    const input = model.inputs[0].shape as Shape;
    const layers = entries.map((e) => serializeLayer(layerOf(e), e, null, unsupported));
    // Keras 3 lists the Sequential's InputLayer first (tfjs keeps it implicit).
    if (layers[0]?.class_name !== 'InputLayer') {
      layers.unshift({
        module: 'keras.layers',
        class_name: 'InputLayer',
        config: { batch_shape: input, dtype: 'float32', sparse: false, name: `${model.name}_input` },
        registered_name: null,
      });
    }
    return {
      module: 'keras',
      class_name: 'Sequential',
      config: { name: model.name, trainable: model.trainable, dtype: POLICY, layers, build_input_shape: input },
      registered_name: null,
      build_config: { input_shape: input },
    };
  }
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: model.name,
      trainable: model.trainable,
      layers: entries.map((e) => serializeLayer(layerOf(e), e, model, unsupported)),
      input_layers: single(config.input_layers),
      output_layers: single(config.output_layers),
    },
    registered_name: 'Functional',
    build_config: { input_shape: null },
  };
}

function refuse(unsupported: string[], model: tfl.LayersModel): void {
  if (unsupported.length) {
    throw new TransferkitError(
      `model ${model.name} has ${unsupported.length} layer(s) with no Keras equivalent transferkit writes: ${unsupported.slice(0, 8).join(', ')} (writable classes: ${WRITABLE_CLASSES.join(', ')})`,
    );
  }
}

/** The model as Keras 3's config.json content. Layers with no Keras equivalent are refused by name and class. */
export function keras3Config(model: tfl.LayersModel): Json {
  const json = model.toJSON(null, false) as unknown as Json;
  const unsupported: string[] = [];
  const out = serializeModel(model, json.config as Json, unsupported);
  refuse(unsupported, model);
  return out;
}

/**
 * The model as a Keras 2 `model_config`: tfjs's own topology is Keras 2's; nested models are 'Functional', and
 * a single input or output is written as one `[layer, node, tensor]` triple, which tf.keras reads as a tensor
 * (`convert_inner_node_data`) and Keras 3's legacy loader too (a one-element list would reach Flatten as a list).
 */
export function keras2Config(model: tfl.LayersModel): Json {
  const unsupported: string[] = [];
  const walk = (m: tfl.LayersModel) =>
    m.layers.forEach((l) => (isContainer(l) ? walk(l) : WRITABLE.has(l.getClassName()) || unsupported.push(`${l.name} (${l.getClassName()})`)));
  walk(model);
  refuse(unsupported, model);
  const rename = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rename);
    if (!isObject(v)) return v;
    const o: Json = {};
    for (const [k, x] of Object.entries(v)) {
      o[k] = k === 'class_name' && x === 'Model' ? 'Functional' : k === 'input_layers' || k === 'output_layers' ? single(x) : rename(x);
    }
    return o;
  };
  return rename(model.toJSON(null, false)) as Json;
}
