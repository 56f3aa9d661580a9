// Keras weight files in HDF5, read and written with h5wasm. Two layouts exist:
// - Keras 2 (`model.save_weights('x.h5')`, every keras.applications file): root attribute `layer_names`; one
//   group per layer with a `weight_names` attribute listing its datasets in the layer's weight order.
// - Keras 3 (`x.weights.h5`): `layers/<class_name>[_k]/vars/<i>`, layers addressed by their class and position
//   (Keras 3 does not use layer names there, since automatic names vary between runs).
import type { Group } from 'h5wasm/node';
import { TransferkitError } from '../errors.js';
import { type H5wasm, loadH5wasm, looksLikeHdf5, native } from './h5-host.js';

export type KerasWeightsFormat = 'keras2' | 'keras3';

export interface StoredWeight {
  name: string;
  shape: number[];
  read(): Float32Array;
}

/** An open weights file: weights grouped by layer key (a layer name, or a Keras 3 path), in file order. */
export interface StoredWeights {
  format: KerasWeightsFormat;
  layers: Map<string, StoredWeight[]>;
  /** A whole saved model's `model_config` attribute (Keras 2 `model.save('x.h5')`), as JSON text. */
  modelConfig?: string;
  /** The root's other string attributes. */
  attributes: Record<string, string>;
  close(): void;
}

/** HDF5's error stack (dozens of lines) reduced to its most specific line. */
function hdf5Reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith('Aborted(')) return 'HDF5 gave up on a structure larger than the file (the file is damaged)';
  const detail = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^#\d+:/.test(l))
    .pop();
  return detail ? detail.replace(/^#\d+:.* in \w+\(\): /, '') : message.split('\n')[0].replace(/^HDF5-DIAG: /, '');
}

/** An h5wasm call whose failure becomes one line naming `label` (the user's file) and what was being done. */
function quietly<T>(label: string, what: string, fn: () => T): T {
  try {
    return native(fn);
  } catch (err) {
    if (err instanceof TransferkitError) throw err;
    throw new TransferkitError(`${label}: cannot ${what}: ${hdf5Reason(err)}`);
  }
}

let h5wasm: H5wasm;
let h5Ready: Promise<void> | undefined;

/**
 * Loads h5wasm once, on first use (commands that never touch an .h5 file skip its start-up), with HDF5's errors
 * thrown (not printed to stderr, as HDF5 does by default).
 */
function h5Init(): Promise<void> {
  h5Ready ??= loadH5wasm().then(async (lib) => {
    const module = await lib.ready;
    module.activate_throwing_error_handler();
    // Keras files use HDF5's built-in filters only; with no plugin folders, a damaged filter id is an error
    // instead of a search of /usr/local/hdf5/lib/plugin and the build machine's paths.
    for (let i = module.get_plugin_search_paths().length - 1; i >= 0; i--) module.remove_plugin_search_path(i);
    h5wasm = lib;
  });
  return h5Ready;
}

/** False when `values[from..to)` holds a NaN or ±Infinity (a loop: `every` costs a call per element). */
export function allFinite(values: Float32Array, from = 0, to = values.length): boolean {
  for (let i = from; i < to; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/** Elements one weight may have (1 GB of float32; VGG16's largest kernel has 103 M). */
const MAX_WEIGHT_ELEMENTS = 2 ** 28;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

/** A stored weight as float32: arrays of any numeric type, and scalars (e.g. Normalization's `count`). */
function toFloat32(value: unknown, file: string, name: string): Float32Array {
  if (value instanceof Float32Array) return value;
  if (typeof value === 'number' || typeof value === 'bigint') return Float32Array.of(Number(value));
  if (value instanceof BigInt64Array || value instanceof BigUint64Array) return Float32Array.from(value, Number);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Float32Array.from(value as unknown as ArrayLike<number>);
  throw new TransferkitError(`${file}: weight ${name} is not numeric`);
}

function dataset(group: Group, file: string, name: string): StoredWeight {
  const d = quietly(file, `read ${name}`, () => group.get(name));
  if (!(d instanceof h5wasm.Dataset)) throw new TransferkitError(`${file}: weight ${name} is listed but missing; the file is damaged`);
  const shape = [...(quietly(file, `read ${name}'s shape`, () => d.shape) ?? [])];
  // Checked before h5wasm allocates for the values: a damaged dataspace can declare any size.
  if (shape.reduce((a, b) => a * b, 1) > MAX_WEIGHT_ELEMENTS)
    throw new TransferkitError(`${file}: weight ${name} declares shape [${shape.join(', ')}], larger than any model's weight; the file is damaged`);
  return {
    name,
    shape,
    read: () => {
      const values = toFloat32(
        quietly(file, `read ${name}`, () => d.value),
        file,
        name,
      );
      // NaN or ±Infinity in a weight makes every prediction NaN.
      if (!allFinite(values)) throw new TransferkitError(`${file}: weight ${name} holds NaN or infinite values; the file is damaged`);
      return values;
    },
  };
}

function readKeras2(root: Group, file: string): Map<string, StoredWeight[]> {
  const layers = new Map<string, StoredWeight[]>();
  for (const layerName of strings(root.attrs.layer_names?.value)) {
    const group = quietly(file, `read layer ${layerName}`, () => root.get(layerName));
    if (!(group instanceof h5wasm.Group)) throw new TransferkitError(`${file}: layer ${layerName} is listed but missing; the file is damaged`);
    const names = strings(group.attrs.weight_names?.value);
    if (names.length > 0)
      layers.set(
        layerName,
        names.map((n) => dataset(group, file, n)),
      );
  }
  return layers;
}

function readKeras3(group: Group, file: string, path: string, out: Map<string, StoredWeight[]>): void {
  for (const key of group.keys()) {
    const child = quietly(file, `read ${path}${key}`, () => group.get(key));
    if (!(child instanceof h5wasm.Group)) continue;
    if (key === 'vars') {
      const indices = child
        .keys()
        .filter((k) => /^\d+$/.test(k))
        .sort((a, b) => Number(a) - Number(b));
      if (indices.length > 0)
        out.set(
          path.replace(/\/$/, ''),
          indices.map((i) => dataset(child, file, i)),
        );
    } else {
      // Keras 2.x wrote .keras files on Windows with `layers\conv2d` as one group name: the same path.
      readKeras3(child, file, `${path}${key.replace(/\\/g, '/')}/`, out);
    }
  }
}

/**
 * Opens a Keras weights file (either layout). A missing, truncated, damaged or non-HDF5 file is a clear error
 * naming `label` (default the file; a .keras zip's weights are read from a temporary copy).
 */
export async function openKerasWeights(file: string, label = file): Promise<StoredWeights> {
  await h5Init();
  let isHdf5: boolean;
  try {
    isHdf5 = looksLikeHdf5(file);
  } catch (err) {
    throw new TransferkitError(`${label}: cannot read the weights file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!isHdf5) throw new TransferkitError(`${label}: not an HDF5 file, so not Keras weights (.h5)`);
  const h5 = quietly(label, 'open the HDF5 file (truncated or damaged?)', () => new h5wasm.File(file, 'r'));
  const close = () => quietly(label, 'close the HDF5 file', () => h5.close());
  try {
    return quietly(label, 'read the weights (the file is damaged)', () => {
      // A whole saved model (`model.save('x.h5')`) keeps its weights under `model_weights`.
      const mw = h5.get('model_weights');
      const root = mw instanceof h5wasm.Group ? mw : h5;
      let format: KerasWeightsFormat;
      const layers = new Map<string, StoredWeight[]>();
      if (root.attrs.layer_names !== undefined) {
        format = 'keras2';
        for (const [k, v] of readKeras2(root, label)) layers.set(k, v);
      } else if (h5.get('layers') instanceof h5wasm.Group || h5.keys().some((k) => k.startsWith('layers\\'))) {
        format = 'keras3';
        readKeras3(h5, label, '', layers);
      } else {
        throw new TransferkitError(`${label}: an HDF5 file but not Keras weights (no layer_names attribute, no layers group)`);
      }
      const attributes: Record<string, string> = {};
      for (const [k, a] of Object.entries(h5.attrs)) if (typeof a.value === 'string') attributes[k] = a.value;
      return { format, layers, modelConfig: attributes.model_config, attributes, close };
    });
  } catch (err) {
    try {
      close();
    } catch {
      // Already failing: the first error is the one to report (an aborted HDF5 cannot close either).
    }
    throw err;
  }
}

export interface WeightToWrite {
  /** The weight's own name, e.g. 'kernel' or 'moving_mean'. */
  name: string;
  shape: number[];
  values: Float32Array;
}

/** The group at `path` under `root`, creating each missing level (HDF5 makes no intermediate groups). */
function ensureGroup(root: Group, path: string): Group {
  let group = root;
  for (const part of path.split('/').filter(Boolean)) {
    const child = group.get(part);
    group = child instanceof h5wasm.Group ? child : group.create_group(part);
  }
  return group;
}

/**
 * Writes weights in a Keras layout. For keras2 the keys are layer names (a weight named `inner/kernel` belongs
 * to a nested model's layer `inner`); for keras3 they are Keras 3 paths such as `layers/conv2d_1` (an empty
 * list still writes the layer's `vars` group, as Keras does). With `modelConfig`, a Keras 2 full model: the
 * config as the root's `model_config` attribute and the weights under `model_weights`. The caller writes to a
 * temporary name and renames.
 */
export async function writeKerasWeights(
  file: string,
  layers: Map<string, WeightToWrite[]>,
  format: KerasWeightsFormat,
  options: { modelConfig?: string; extra?: Record<string, string> } = {},
): Promise<void> {
  await h5Init();
  const h5 = quietly(file, 'create the HDF5 file', () => new h5wasm.File(file, 'w'));
  try {
    if (format === 'keras2') {
      let root: Group = h5;
      if (options.modelConfig !== undefined) {
        h5.create_attribute('model_config', options.modelConfig);
        h5.create_attribute('keras_version', '2.15.0');
        h5.create_attribute('backend', 'tensorflow');
        for (const [k, v] of Object.entries(options.extra ?? {})) h5.create_attribute(k, v);
        root = h5.create_group('model_weights');
      }
      root.create_attribute('layer_names', [...layers.keys()]);
      root.create_attribute('backend', 'tensorflow');
      root.create_attribute('keras_version', '2.15.0');
      for (const [layer, weights] of layers) {
        const g = root.create_group(layer);
        // Keras names a weight `layer/kernel:0` and nests its dataset along that path inside the layer's group.
        const names = weights.map((w) => `${w.name.includes('/') ? w.name : `${layer}/${w.name}`}:0`);
        if (names.length > 0) g.create_attribute('weight_names', names);
        weights.forEach((w, i) => {
          const parts = names[i].split('/');
          ensureGroup(g, parts.slice(0, -1).join('/')).create_dataset({ name: parts[parts.length - 1], data: w.values, shape: w.shape, dtype: '<f' });
        });
      }
    } else {
      ensureGroup(h5, 'layers');
      ensureGroup(h5, 'vars');
      for (const [path, weights] of layers) {
        const vars = ensureGroup(h5, `${path}/vars`);
        weights.forEach((w, i) => vars.create_dataset({ name: String(i), data: w.values, shape: w.shape, dtype: '<f' }));
      }
    }
  } finally {
    h5.close();
  }
}
