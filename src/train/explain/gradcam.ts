// Grad-CAM (Selvaraju et al., 2017): which parts of the image raised a class's score. The gradient of the
// class score (before the final sigmoid/softmax) with respect to a convolutional layer's activations, averaged
// over space, weights that layer's channels; their ReLU'd sum is the map. Computed with tfjs's autograd on the
// model itself (wasm backend), so any saved model works whatever its base.
import { tf, tfl } from '../../tfjs.js';
import { TransferkitError } from '../../errors.js';
import { baseModel } from '../../model/introspect.js';

type Container = tfl.LayersModel & {
  nodesByDepth: Record<
    string,
    Array<{ outboundLayer: tfl.layers.Layer; inputTensors: tfl.SymbolicTensor[]; outputTensors: tfl.SymbolicTensor[]; callArgs?: Record<string, unknown> }>
  >;
};

export interface GradCamResult {
  layer: string;
  classIndex: number;
  /** The model's outputs (probabilities, or the sigmoid's one value). */
  outputs: number[];
  /** The map at the layer's resolution, ReLU'd, not normalised. */
  map: Float32Array;
  height: number;
  width: number;
}

export interface GradCamOptions {
  layer?: string;
  /** Default: the predicted class (a one-unit sigmoid model's decided at `threshold`, default 0.5). */
  classIndex?: number;
  threshold?: number;
}

const rank4 = (l: tfl.layers.Layer) => {
  try {
    return (l.outputShape as number[]).length === 4;
  } catch {
    return false; // a layer used at several shapes
  }
};

/** The layer Grad-CAM reads by default: the base's last layer with a spatial output (the last conv block before pooling). */
export function defaultCamLayer(model: tfl.LayersModel): string {
  const layer = [...baseModel(model).layers].reverse().find(rank4);
  if (!layer) throw new TransferkitError(`${model.name}: no layer with a spatial (height × width × channels) output to explain`);
  return layer.name;
}

/** Runs a functional model's graph on a tensor, with the named layers' outputs replaced by given tensors. */
function runGraph(net: tfl.LayersModel, x: tf.Tensor, replace: Map<string, tf.Tensor>): tf.Tensor {
  const values = new Map<number, tf.Tensor>();
  net.inputs.forEach((s) => values.set(s.id, x));
  const graph = (net as Container).nodesByDepth;
  for (const depth of Object.keys(graph)
    .map(Number)
    .sort((a, b) => b - a)) {
    for (const node of graph[depth]) {
      const layer = node.outboundLayer;
      if (layer.getClassName() === 'InputLayer') continue;
      const inputs = node.inputTensors.map((s) => values.get(s.id) as tf.Tensor);
      const out =
        replace.get(layer.name) ??
        (layer.apply(inputs.length === 1 ? inputs[0] : inputs, { ...(node.callArgs ?? {}), training: false }) as tf.Tensor | tf.Tensor[]);
      node.outputTensors.forEach((s, i) => values.set(s.id, Array.isArray(out) ? out[i] : out));
    }
  }
  return values.get(net.outputs[0].id) as tf.Tensor;
}

/** The model's class scores before its final activation: the last Dense layer's logits. */
function scores(model: tfl.LayersModel, x: tf.Tensor, replace: Map<string, tf.Tensor>): tf.Tensor {
  const base = baseModel(model);
  const layers = model.layers;
  const start = layers.indexOf(base);
  let h = start >= 0 ? runGraph(base, x, replace) : runGraph(model, x, replace);
  if (start < 0) return h;
  const rest = layers.slice(start + 1);
  const last = rest[rest.length - 1];
  for (const l of rest.slice(0, -1)) h = l.apply(h, { training: false }) as tf.Tensor;
  if (last?.getClassName() === 'Dense') {
    const [kernel, bias] = last.getWeights();
    return bias ? tf.add(tf.matMul(h, kernel), bias) : tf.matMul(h, kernel);
  }
  return last ? (last.apply(h, { training: false }) as tf.Tensor) : h;
}

/**
 * Grad-CAM for one preprocessed image (1 × H × W × C): for `classIndex` (default: the predicted class) at
 * `layerName` (default: {@link defaultCamLayer}). A one-unit sigmoid model's class 0 score is minus its logit.
 */
export function gradCam(model: tfl.LayersModel, x: tf.Tensor4D, options: GradCamOptions = {}): GradCamResult {
  const base = baseModel(model);
  const name = options.layer ?? defaultCamLayer(model);
  let layer: tfl.layers.Layer;
  try {
    layer = base.getLayer(name);
  } catch {
    throw new TransferkitError(`--layer ${name}: no such layer in ${base.name} (see transferkit layers, or summary --expand-nested)`);
  }
  if (!rank4(layer)) throw new TransferkitError(`--layer ${name}: its output is not a spatial feature map (height × width × channels)`);
  return tf.tidy(() => {
    const activations = tfl.model({ inputs: base.inputs, outputs: layer.output as tfl.SymbolicTensor }).predict(x) as tf.Tensor4D;
    const outputs = Array.from((model.predict(x) as tf.Tensor).dataSync());
    const single = outputs.length === 1;
    const classIndex = options.classIndex ?? (single ? (outputs[0] >= (options.threshold ?? 0.5) ? 1 : 0) : outputs.indexOf(Math.max(...outputs)));
    if (classIndex < 0 || classIndex >= (single ? 2 : outputs.length) || !Number.isInteger(classIndex))
      throw new TransferkitError(`--class: ${classIndex} is not a class of the model (0–${(single ? 2 : outputs.length) - 1})`);
    const score = (a: tf.Tensor) => {
      const z = tf.reshape(scores(model, x, new Map([[name, a]])), [-1]);
      return tf.mul(tf.sum(tf.slice(z, [single ? 0 : classIndex], [1])), single && classIndex === 0 ? -1 : 1);
    };
    const grads = tf.grad(score)(activations) as tf.Tensor4D;
    const alpha = tf.mean(grads, [1, 2], true);
    const cam = tf.squeeze(tf.relu(tf.sum(tf.mul(activations, alpha), -1)), [0]);
    const [height, width] = cam.shape as [number, number];
    return { layer: name, classIndex, outputs, map: cam.dataSync() as Float32Array, height, width };
  });
}
