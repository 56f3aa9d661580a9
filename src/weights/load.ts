import { tf } from '../tfjs.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferkitError } from '../errors.js';
import { isContainer } from '../model/introspect.js';
import { type KerasWeightsFormat, type StoredWeight, openKerasWeights } from './h5.js';

type Layer = tfl.layers.Layer;

/** Keras 3's `to_snake_case` of a class name: Conv2D → conv2d, BatchNormalization → batch_normalization. */
function snakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

const kerasClassName = (layer: Layer) => (layer.getClassName() === 'Model' ? 'Functional' : layer.getClassName());

/**
 * How Keras 3 itself builds a model that transferkit builds otherwise (keras.applications' ConvNeXt): layers
 * Keras wraps in a nested `Sequential`, and layers of another Keras class. Its `.weights.h5` paths follow them.
 */
export interface KerasLayout {
  /** The Keras Sequential a layer sits in (any name, one per group), or null for the main graph. */
  nestedIn(layerName: string): string | null;
  /** Keras's class for a layer, where transferkit uses another one. */
  kerasClass?(layer: Layer): string | undefined;
}

/** Keras 3's per-model numbering of layer paths: `layers/<snake_case class>[_<k>]`. */
function pathNamer(prefix: string): (className: string) => string {
  const used = new Map<string, number>();
  return (className) => {
    const base = snakeCase(className);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    return `${prefix}layers/${n === undefined ? base : `${base}_${n + 1}`}`;
  };
}

/**
 * The model's layers that hold weights (every layer with `all`), keyed as a file of `format` keys them: for
 * Keras 3, saving_lib's path `layers/<snake_case class>[_<k>]`, numbered per class within each model (as Keras
 * would build the model when `layout` says how).
 */
export function modelLayers(model: tfl.LayersModel, format: KerasWeightsFormat, prefix = '', all = false, layout?: KerasLayout): Map<string, Layer> {
  const out = new Map<string, Layer>();
  const name = pathNamer(prefix);
  const groups = new Map<string, (className: string) => string>();
  for (const layer of model.layers) {
    let key = layer.name;
    if (format === 'keras3') {
      const group = layout?.nestedIn(layer.name);
      const className = layout?.kerasClass?.(layer) ?? kerasClassName(layer);
      if (group && !groups.has(group)) groups.set(group, pathNamer(`${name('Sequential')}/`));
      key = group ? (groups.get(group) as (c: string) => string)(className) : name(className);
    }
    if (isContainer(layer)) {
      if (all) out.set(key, layer);
      for (const [k, v] of modelLayers(layer, format, format === 'keras3' ? `${key}/` : '', all)) out.set(k, v);
    } else if (all || layer.weights.length > 0) {
      out.set(key, layer);
    }
  }
  return out;
}

/** How to treat a file that does not fit the model exactly. */
export interface LoadOptions {
  /** Allow layers missing from the file or unknown to the model (Keras's `by_name` partial loading). */
  byName?: boolean;
  /** Skip layers whose weight count or shapes differ, instead of failing (Keras's `skip_mismatch`). */
  skipMismatch?: boolean;
  /** The name errors give the file (when `file` is a temporary copy, e.g. unpacked from a .keras zip). */
  label?: string;
  /** How Keras builds this model, for Keras 3 files Keras wrote (transferkit's own follow the model as built). */
  kerasLayout?: KerasLayout;
}

/** How a weights file was loaded: its format and how its layers were paired with the model's. */
export interface LoadReport {
  format: KerasWeightsFormat;
  /** How file layers were paired with model layers: by name (or Keras 3 path), or by order as Keras does. */
  matchedBy: 'name' | 'order';
  layersLoaded: number;
  weightsLoaded: number;
  /** Model weights the file does not have (left as they were). */
  missing: string[];
  /** File layers the model does not have (ignored). */
  unexpected: string[];
  /** Weights whose shapes differ: `name: file [..] vs model [..]`. */
  mismatched: string[];
}

const fmt = (s: ReadonlyArray<number | null>) => `[${s.join(', ')}]`;

/**
 * Shapes that hold the same numbers in the same order: Normalization's statistics (Keras [C], transferkit's layer
 * broadcastable [1, 1, C]), and a depthwise kernel that Keras writes as `Conv2D(groups=C)`'s [KH, KW, 1, C]
 * (ConvNeXt) where DepthwiseConv2D has [KH, KW, C, 1].
 */
export const sameShape = (layer: Layer, a: number[], b: ReadonlyArray<number | null>) =>
  fmt(a) === fmt(b) || (['Normalization', 'DepthwiseConv2D'].includes(layer.getClassName()) && fmt(a.filter((d) => d !== 1)) === fmt(b.filter((d) => d !== 1)));

function listing(what: string, items: string[]): string {
  const shown = items.slice(0, 3).join(', ');
  return `${items.length} ${what} (${shown}${items.length > 3 ? ', …' : ''})`;
}

/**
 * A Keras 2 file keeps a nested model's weights in one group (ConvNeXt's Sequential stem, `convnext_tiny_stem`),
 * naming them `[group/]inner_layer/weight`; where the model has those inner layers itself and not the group,
 * the group's weights are listed per inner layer.
 */
function splitNestedGroups(stored: Map<string, StoredWeight[]>, layers: Map<string, Layer>): void {
  for (const [key, weights] of [...stored]) {
    if (layers.has(key)) continue;
    const owners = weights.map((w) => w.name.split('/').at(-2) ?? '');
    if (!owners.every((o) => layers.has(o) && !stored.has(o))) continue;
    stored.delete(key);
    weights.forEach((w, i) => stored.set(owners[i], [...(stored.get(owners[i]) ?? []), w]));
  }
}

/**
 * Loads a Keras .h5 weights file into `model`, matching layers by name (Keras 2 files) or by Keras 3 path, and
 * weights by their order within the layer. Strict unless told otherwise: every model weight must be assigned
 * exactly once with its shape and every file layer used; on any difference nothing is assigned and the error
 * lists the missing, unexpected and mis-shaped weights.
 */
export async function loadWeights(model: tfl.LayersModel, file: string, options: LoadOptions = {}): Promise<LoadReport> {
  const label = options.label ?? file;
  const stored = await openKerasWeights(file, label);
  try {
    // A .keras file's weights also hold optimizer and metric state; the model's own are under layers/.
    if (stored.format === 'keras3') for (const k of [...stored.layers.keys()]) if (!k.startsWith('layers/')) stored.layers.delete(k);
    let layers = modelLayers(model, stored.format);
    if (stored.format === 'keras3' && options.kerasLayout) {
      // A file Keras wrote follows Keras's own build of the model; one transferkit wrote, the model as built.
      const asKeras = modelLayers(model, 'keras3', '', false, options.kerasLayout);
      const hits = (m: Map<string, Layer>) => [...stored.layers.keys()].filter((k) => m.has(k)).length;
      if (hits(asKeras) > hits(layers)) layers = asKeras;
    }
    if (stored.format === 'keras2') splitNestedGroups(stored.layers, layers);
    let matchedBy: LoadReport['matchedBy'] = 'name';
    const fileKeys = [...stored.layers.keys()];
    // Keras loads a Keras 2 .h5 by layer order; names differ where Keras numbered unnamed layers (conv2d_1 in
    // Keras 2, conv2d in Keras 3). When the names do not line up but the counts do, pair layers in order.
    if (stored.format === 'keras2' && !options.byName && fileKeys.some((k) => !layers.has(k)) && fileKeys.length === layers.size) {
      const inOrder = [...layers.values()];
      layers = new Map(fileKeys.map((k, i) => [k, inOrder[i]]));
      matchedBy = 'order';
    }
    const report: LoadReport = { format: stored.format, matchedBy, layersLoaded: 0, weightsLoaded: 0, missing: [], unexpected: [], mismatched: [] };
    const plan: Array<[Layer, typeof stored.layers extends Map<string, infer V> ? V : never]> = [];
    for (const [key, layer] of layers) {
      const weights = stored.layers.get(key);
      if (!weights) {
        report.missing.push(...layer.weights.map((w) => w.originalName));
        continue;
      }
      const mine = layer.weights;
      const bad: string[] = [];
      if (weights.length !== mine.length) {
        bad.push(`${key}: file has ${weights.length} weights, model ${mine.length}`);
      } else {
        weights.forEach((w, i) => {
          if (!sameShape(layer, w.shape, mine[i].shape)) bad.push(`${mine[i].originalName}: file ${fmt(w.shape)} vs model ${fmt(mine[i].shape)}`);
        });
      }
      if (bad.length) report.mismatched.push(...bad);
      else plan.push([layer, weights]);
    }
    for (const key of stored.layers.keys()) if (!layers.has(key)) report.unexpected.push(key);
    const problems = [
      ...(!options.byName && report.missing.length ? [listing('model weights missing from the file', report.missing)] : []),
      ...(!options.byName && report.unexpected.length ? [listing('file layers not in the model', report.unexpected)] : []),
      ...(!options.skipMismatch && report.mismatched.length ? [listing('weights of the wrong shape', report.mismatched)] : []),
    ];
    if (problems.length) {
      throw new TransferkitError(`${label} does not fit model ${model.name}: ${problems.join('; ')}`);
    }
    // Every weight is read, and so checked finite (h5.ts), before anything is assigned (read twice rather than
    // held: a large model's weights are GBs).
    for (const [, weights] of plan) for (const w of weights) w.read();
    for (const [layer, weights] of plan) {
      const tensors = weights.map((w, i) => tf.tensor(w.read(), layer.weights[i].shape as number[], 'float32'));
      layer.setWeights(tensors);
      tf.dispose(tensors);
      report.layersLoaded++;
      report.weightsLoaded += tensors.length;
    }
    return report;
  } finally {
    stored.close();
  }
}
