// Whole Keras models from disk: Keras 3's `.keras` zip (config.json + model.weights.h5) and Keras 2's full-model
// `.h5` (a `model_config` attribute beside `model_weights`), rebuilt with tfjs-layers and loaded strictly.
import { closeSync, createReadStream, existsSync, openSync, promises as fsp, readSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, tfl } from '../tfjs.js';
import '../applications/layers.js';
import { TransferkitError, reasonOf } from '../errors.js';
import { isContainer } from '../model/introspect.js';
import { extractZip } from '../data/unzip.js';
import { type ZipLimits, ZipLimitError, checkZipDirectory } from '../data/zip-limits.js';
import { type StoredWeight, openKerasWeights } from '../weights/h5.js';
import { loadWeights, sameShape } from '../weights/load.js';
import { tfjsTopology } from './from-keras.js';
import { checkLayerShapes } from './graph-check.js';
import { type KerasFileFormat, METADATA_ENTRY } from './entries.js';

export { type KerasFileFormat, METADATA_ENTRY } from './entries.js';

export interface KerasModelFile {
  model: tfl.LayersModel;
  format: KerasFileFormat;
  /** The Keras version that wrote the file, when it says. */
  kerasVersion?: string;
  /** transferkit's metadata, in files transferkit wrote. */
  transferkit?: Record<string, unknown>;
}

/** Where transferkit keeps its metadata in a Keras file: a zip entry, or a root attribute of the .h5. */

/** A file's kind from its first bytes: a zip (.keras), HDF5 (.h5), or neither. */
export function kerasFileKind(file: string): KerasFileFormat | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new TransferkitError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    if (head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) return 'keras';
    if (head.equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'keras-h5';
    return null;
  } finally {
    closeSync(fd);
  }
}

/** True for a path that names a Keras model file rather than a transferkit model folder. */
export function isKerasModelPath(p: string): boolean {
  return /\.(keras|h5|hdf5)$/i.test(p);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new TransferkitError(`${what} is not valid JSON; the file is damaged`);
  }
}

async function buildModel(config: unknown, file: string): Promise<tfl.LayersModel> {
  const topology = tfjsTopology(config, file);
  let model: tfl.LayersModel;
  try {
    model = await tfl.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  } catch (err) {
    throw new TransferkitError(`${file}: tfjs cannot build the model from its config (${reasonOf(err)})`);
  }
  checkLayerShapes(model, file);
  return model;
}

/**
 * What a .keras zip may unpack to: a few entries (config, metadata, weights, assets); JSON read into memory up to
 * 64 MB; weights (to a temporary file, never into memory) up to 8 GB, and no entry over 1 MB inflating more
 * than 100× (weights barely compress: a zip bomb, not a model).
 */
const KERAS_ZIP_LIMITS: ZipLimits = { maxTotal: 8e9, maxEntry: 8e9, maxEntries: 10_000, maxRatio: 100 };
const MAX_JSON_ENTRY = 64e6;
const KERAS_ENTRIES = ['config.json', 'model.weights.h5', 'metadata.json', METADATA_ENTRY];

async function readKerasZip(file: string): Promise<KerasModelFile> {
  // The directory's sizes are checked before anything is inflated; extractZip checks them again as it inflates.
  let directory;
  try {
    directory = checkZipDirectory(file, KERAS_ZIP_LIMITS);
  } catch (err) {
    if (err instanceof ZipLimitError) throw new TransferkitError(`${file}: ${err.message}`);
    throw new TransferkitError(`${file}: ${(err as Error).message}; not a readable .keras zip (truncated or damaged)`);
  }
  for (const name of ['config.json', 'model.weights.h5']) {
    if (!directory.some((e) => e.name === name))
      throw new TransferkitError(
        `${file}: the .keras zip has no ${name} (entries: ${directory.map((e) => e.name).join(', ') || 'none'}); not a complete Keras 3 model`,
      );
  }
  const json = directory.find((e) => e.name !== 'model.weights.h5' && KERAS_ENTRIES.includes(e.name) && e.size > MAX_JSON_ENTRY);
  if (json) throw new TransferkitError(`${file}: ${json.name} inflates to ${json.size} bytes, more than a model config holds; the file is damaged`);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'transferkit-keras-'));
  try {
    const unpacked = path.join(dir, 'entries');
    await extractZip(
      file,
      createReadStream(file) as AsyncIterable<Uint8Array>,
      unpacked,
      (name) => (KERAS_ENTRIES.includes(name) ? name : null),
      KERAS_ZIP_LIMITS,
    ).catch((err) => {
      throw err instanceof ZipLimitError ? new TransferkitError(`${file}: ${err.message}`) : err;
    });
    const text = async (name: string) => {
      const at = path.join(unpacked, name);
      if (name !== 'model.weights.h5' && (await fsp.stat(at)).size > MAX_JSON_ENTRY)
        throw new TransferkitError(`${file}: ${name} inflates past ${MAX_JSON_ENTRY} bytes; the file is damaged`);
      return fsp.readFile(at, 'utf8');
    };
    const has = (name: string) => existsSync(path.join(unpacked, name));
    for (const name of ['config.json', 'model.weights.h5'])
      if (!has(name)) throw new TransferkitError(`${file}: the .keras zip's ${name} could not be unpacked; the file is damaged`);
    const metadata = has('metadata.json') ? (parseJson(await text('metadata.json'), `${file}: metadata.json`) as { keras_version?: unknown } | null) : {};
    const model = await buildModel(parseJson(await text('config.json'), `${file}: config.json`), file);
    await loadWeights(model, path.join(unpacked, 'model.weights.h5'), { label: `${file} (model.weights.h5)` });
    const transferkit = has(METADATA_ENTRY) ? (parseJson(await text(METADATA_ENTRY), `${file}: ${METADATA_ENTRY}`) as Record<string, unknown>) : undefined;
    return { model, format: 'keras', kerasVersion: typeof metadata?.keras_version === 'string' ? metadata.keras_version : undefined, transferkit };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

type Layer = tfl.layers.Layer;

const leaves = (layer: Layer): Layer[] => (isContainer(layer) ? layer.layers.flatMap(leaves) : [layer]);

/** `model_3/conv1/kernel:0` → `conv1/kernel`: the layer and weight a Keras 2 weight name ends with. */
const weightKey = (name: string) => name.replace(/:\d+$/, '').split('/').slice(-2).join('/');

/**
 * A Keras 2 full model's weights: one group per top-level layer, listing every weight of that layer (nested
 * models included) by name. Weights are paired by `layer/weight` name, else by order when the names do not say;
 * any difference in count or shape is an error naming the layer.
 */
function assignKeras2(model: tfl.LayersModel, stored: Map<string, StoredWeight[]>, label: string): void {
  const plan: Array<[tfl.LayerVariable, StoredWeight]> = [];
  const missing: string[] = [];
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const group = stored.get(layer.name);
    if (!group) {
      missing.push(layer.name);
      continue;
    }
    const byName = new Map(group.map((w) => [weightKey(w.name), w]));
    const mine = leaves(layer).flatMap((l) => l.weights.map((v) => ({ v, leaf: l, key: `${l.name}/${v.originalName.split('/').pop()}` })));
    const named = mine.every((m) => byName.has(m.key)) && byName.size === mine.length;
    if (!named && group.length !== mine.length) {
      throw new TransferkitError(
        `${label}: layer ${layer.name} has ${group.length} weights in the file, the model ${mine.length}; the file does not match its config`,
      );
    }
    mine.forEach((m, i) => {
      const w = named ? (byName.get(m.key) as StoredWeight) : group[i];
      if (!sameShape(m.leaf, w.shape, m.v.shape)) {
        throw new TransferkitError(`${label}: weight ${w.name} is [${w.shape.join(', ')}] in the file, [${m.v.shape.join(', ')}] in the model`);
      }
      plan.push([m.v, w]);
    });
  }
  if (missing.length) throw new TransferkitError(`${label}: no weights for layer(s) ${missing.join(', ')}; the file does not match its config`);
  for (const [v, w] of plan) {
    const t = tf.tensor(w.read(), v.shape as number[], 'float32');
    v.write(t);
    t.dispose();
  }
}

async function readKerasH5(file: string): Promise<KerasModelFile> {
  const stored = await openKerasWeights(file);
  try {
    if (!stored.modelConfig) {
      throw new TransferkitError(
        `${file}: Keras weights only (no model_config attribute): load them into a zoo model with \`transferkit weights\`, or save the whole model (model.save)`,
      );
    }
    const model = await buildModel(parseJson(stored.modelConfig, `${file}: model_config`), file);
    if (stored.format === 'keras2') assignKeras2(model, stored.layers, file);
    else throw new TransferkitError(`${file}: a full-model .h5 with Keras 3 weight paths is not a layout Keras writes`);
    const extra = stored.attributes[METADATA_ENTRY];
    const transferkit = extra ? (parseJson(extra, `${file}: ${METADATA_ENTRY}`) as Record<string, unknown>) : undefined;
    return { model, format: 'keras-h5', kerasVersion: stored.attributes.keras_version, transferkit };
  } finally {
    stored.close();
  }
}

/** Opens a Keras full model (`.keras` zip or `.h5`), whatever its extension says. */
export async function readKerasModel(file: string): Promise<KerasModelFile> {
  const kind = kerasFileKind(file);
  if (kind === 'keras') return readKerasZip(file);
  if (kind === 'keras-h5') return readKerasH5(file);
  throw new TransferkitError(`${file}: neither a .keras zip nor an HDF5 .h5 file; save the model with Keras's model.save('model.keras')`);
}
