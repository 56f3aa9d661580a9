// A model topology (tfjs's Keras-2-style JSON: saved models' model.json, and Keras configs once converted) checked
// before tfjs builds it: tfjs waits forever for an inbound node that names a missing layer or call, or that
// closes a cycle, and recurses once per level of nesting.
import { TransferkitError } from '../errors.js';
import type { tfl } from '../tfjs.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deeper nesting than any real model (keras.applications nest 2 levels; Teachable Machine 3). */
const MAX_DEPTH = 32;
/** More layers than any real model holds (the largest keras.applications model has under 1,000). */
const MAX_LAYERS = 50_000;

const CONTAINERS = new Set(['Sequential', 'Functional', 'Model']);

/** The [layer, nodeIndex] pairs one inbound node (a list of [layer, node, tensor, kwargs]) consumes. */
function inputsOf(node: unknown, where: string): Array<[string, number]> {
  if (!Array.isArray(node)) throw new TransferkitError(`${where}: an inbound node is not a list; the model config is damaged`);
  return node.map((t) => {
    // tfjs waits forever for a tensor index that is not a count ("" or []), as for a missing layer.
    const index = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
    if (!Array.isArray(t) || typeof t[0] !== 'string' || !index(t[1]) || (t.length > 2 && !index(t[2])))
      throw new TransferkitError(`${where}: an inbound node is not [layer, node, tensor]; the model config is damaged`);
    return [t[0], t[1] as number];
  });
}

function checkFunctional(config: Json, where: string, depth: number, count: { layers: number }): void {
  const layers = config.layers as unknown[];
  const calls = new Map<string, unknown[]>();
  /** Calls of each layer another may consume: an InputLayer's one output, else one per inbound node. */
  const outputs = new Map<string, number>();
  for (const layer of layers) {
    if (!isObject(layer)) throw new TransferkitError(`${where}: a layer entry is not an object; the model config is damaged`);
    const name = layer.name ?? (isObject(layer.config) ? layer.config.name : undefined);
    if (typeof name !== 'string') throw new TransferkitError(`${where}: a layer has no name; the model config is damaged`);
    if (calls.has(name)) throw new TransferkitError(`${where}: two layers are named ${name}; the model config is damaged`);
    const inbound = layer.inbound_nodes ?? [];
    if (!Array.isArray(inbound)) throw new TransferkitError(`${where}: layer ${name}'s inbound_nodes is not a list; the model config is damaged`);
    calls.set(name, inbound);
    outputs.set(name, layer.class_name === 'InputLayer' ? 1 : inbound.length);
  }
  // Calls are graph nodes `layer#k`; every input must name an existing call, and the graph must be acyclic.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (start: string) => {
    const stack: Array<[string, Array<[string, number]>]> = [];
    const enter = (id: string) => {
      const [layer, k] = [id.slice(0, id.lastIndexOf('#')), Number(id.slice(id.lastIndexOf('#') + 1))];
      const nodes = calls.get(layer) as unknown[];
      state.set(id, 'visiting');
      stack.push([id, nodes.length === 0 ? [] : inputsOf(nodes[k], `${where}: layer ${layer}`)]);
    };
    enter(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const next = top[1].pop();
      if (!next) {
        state.set(top[0], 'done');
        stack.pop();
        continue;
      }
      const [layer, k] = next;
      const owner = top[0].slice(0, top[0].lastIndexOf('#'));
      const nodes = calls.get(layer);
      if (!nodes)
        throw new TransferkitError(`${where}: layer ${owner} takes its input from ${layer}, which the model does not have; the model config is damaged`);
      // tfjs waits forever for a call that never happens (a layer without inbound nodes that is no InputLayer).
      if (k >= (outputs.get(layer) as number))
        throw new TransferkitError(
          `${where}: layer ${owner} takes call ${k} of ${layer}, which is called ${outputs.get(layer)} time(s); the model config is damaged`,
        );
      const id = `${layer}#${k}`;
      if (state.get(id) === 'visiting')
        throw new TransferkitError(`${where}: layers ${owner} and ${layer} feed each other in a cycle; the model config is damaged`);
      if (!state.has(id)) enter(id);
    }
  };
  for (const [name, nodes] of calls) for (let k = 0; k < Math.max(1, nodes.length); k++) if (!state.has(`${name}#${k}`)) visit(`${name}#${k}`);
  for (const key of ['input_layers', 'output_layers']) {
    const ends = config[key];
    if (!Array.isArray(ends)) throw new TransferkitError(`${where}: ${key} is missing; the model config is damaged`);
    for (const [layer] of inputsOf(ends, `${where}: ${key}`))
      if (!calls.has(layer)) throw new TransferkitError(`${where}: ${key} names ${layer}, which the model does not have; the model config is damaged`);
  }
  for (const layer of layers) checkLayer(layer as Json, where, depth, count);
}

function checkLayer(entry: Json, where: string, depth: number, count: { layers: number }): void {
  if (++count.layers > MAX_LAYERS) throw new TransferkitError(`${where}: more than ${MAX_LAYERS} layers; the model config is damaged`);
  // tfjs reads names as text (`name.match`); a missing one it makes up.
  const badName = [entry.name, isObject(entry.config) ? entry.config.name : undefined].find((n) => n !== undefined && n !== null && typeof n !== 'string');
  if (badName !== undefined)
    throw new TransferkitError(`${where}: a layer's name is ${String(JSON.stringify(badName)).slice(0, 40)}, not text; the model config is damaged`);
  if (!CONTAINERS.has(String(entry.class_name))) return;
  if (depth >= MAX_DEPTH) throw new TransferkitError(`${where}: models nested more than ${MAX_DEPTH} deep; the model config is damaged`);
  const config = entry.config;
  if (!isObject(config) || !Array.isArray(config.layers))
    throw new TransferkitError(`${where}: a ${String(entry.class_name)} has no layer list; the model config is damaged`);
  if (entry.class_name === 'Sequential') {
    for (const layer of config.layers) {
      if (!isObject(layer)) throw new TransferkitError(`${where}: a layer entry is not an object; the model config is damaged`);
      checkLayer(layer, where, depth + 1, count);
    }
  } else checkFunctional(config, where, depth + 1, count);
}

/** JSON nested deeper than this is not a model config (tfjs deserializes initializers and layers recursively). */
const MAX_JSON_DEPTH = 256;

/** The deepest nesting of objects and arrays in `value`, counted without recursion. */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Refuses (naming `where`, the user's file) a topology tfjs would hang on or recurse too deeply into. */
export function checkTopology(topology: unknown, where: string): void {
  if (!isObject(topology)) throw new TransferkitError(`${where}: the model topology is not an object; the model config is damaged`);
  if (jsonDepth(topology) > MAX_JSON_DEPTH)
    throw new TransferkitError(`${where}: the model config nests more than ${MAX_JSON_DEPTH} levels deep; the model config is damaged`);
  checkLayer(topology, where, 0, { layers: 0 });
}

/**
 * Refuses a built model whose layers compute an impossible shape (a zero, negative or fractional size): a config
 * damaged outside its weights (strides, pool sizes, a Reshape's target) that tfjs accepts and ONNX Runtime
 * would reject later with its own internals.
 */
export function checkLayerShapes(model: tfl.LayersModel, where: string): void {
  const layers: tfl.layers.Layer[] = [...model.layers];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    if ('layers' in layer && Array.isArray((layer as tfl.LayersModel).layers)) layers.push(...(layer as tfl.LayersModel).layers);
    let shapes: unknown;
    try {
      shapes = layer.outputShape;
    } catch {
      continue; // A layer called more than once has no single output shape; tfjs checks each call.
    }
    const list = (Array.isArray((shapes as unknown[])[0]) ? shapes : [shapes]) as Array<Array<number | null>>;
    for (const shape of list)
      if (Array.isArray(shape) && shape.some((d) => d !== null && !(Number.isInteger(d) && d > 0)))
        throw new TransferkitError(`${where}: layer ${layer.name} computes an output of shape [${shape.join(', ')}]; the model config is damaged`);
  }
}
