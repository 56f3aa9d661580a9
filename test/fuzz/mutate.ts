// Seeded mutations of valid files: byte-level damage any format can suffer, and structural damage to the JSON a
// model carries (Keras configs, model.json, transferkit.json).
export type Rng = () => number;

export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
export const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

/** Values that break size arithmetic: sign bits, 32-bit wrap-arounds, zero. */
export const HUGE = [0xffffffff, 0x7fffffff, 0x80000000, 0x40000000, 0x10000000, 0];

export interface Mutation {
  label: string;
  bytes: Buffer;
}

/** One random byte-level mutation; `headerBytes` bounds where length fields are likely (default 4 KB). */
export function mutateBytes(rng: Rng, src: Buffer, headerBytes = 4096): Mutation {
  const b = Buffer.from(src);
  const at = (span = b.length) => int(rng, 0, Math.max(0, Math.min(span, b.length) - 1));
  switch (int(rng, 0, 5)) {
    case 0: {
      const n = rng() < 0.3 ? int(rng, 0, Math.min(64, b.length)) : at();
      return { label: `truncate@${n}`, bytes: b.subarray(0, n) };
    }
    case 1: {
      const flips = int(rng, 1, 16);
      for (let i = 0; i < flips; i++) b[at()] ^= 1 << int(rng, 0, 7);
      return { label: `bitflip×${flips}`, bytes: b };
    }
    case 2: {
      const o = at(headerBytes);
      const v = pick(rng, HUGE);
      const le = rng() < 0.5;
      if (o + 4 <= b.length) le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o);
      return { label: `u32${le ? 'le' : 'be'}@${o}=${v}`, bytes: b };
    }
    case 3: {
      const o = at();
      const n = int(rng, 1, 256);
      const v = pick(rng, [0x00, 0xff]);
      b.fill(v, o, Math.min(b.length, o + n));
      return { label: `fill${v}@${o}+${n}`, bytes: b };
    }
    case 4: {
      const o = at();
      const n = int(rng, 1, 4096);
      const chunk = b.subarray(o, o + n);
      return { label: `dup@${o}+${n}`, bytes: Buffer.concat([b.subarray(0, o), chunk, chunk, b.subarray(o)]) };
    }
    default: {
      const o = at();
      const n = int(rng, 1, 4096);
      return { label: `cut@${o}+${n}`, bytes: Buffer.concat([b.subarray(0, o), b.subarray(o + n)]) };
    }
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every object in `root` (depth first) that looks like a layer entry: class_name and config. */
function layerEntries(root: unknown, out: Json[] = []): Json[] {
  if (Array.isArray(root)) for (const v of root) layerEntries(v, out);
  else if (isObject(root)) {
    if (typeof root.class_name === 'string' && isObject(root.config)) out.push(root);
    for (const v of Object.values(root)) layerEntries(v, out);
  }
  return out;
}

/** Every string in inbound_nodes that names a layer (Keras 2 triples and Keras 3 keras_history alike). */
function inboundRefs(entry: Json): Array<{ holder: unknown[]; index: number }> {
  const refs: Array<{ holder: unknown[]; index: number }> = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      if (typeof v[0] === 'string' && typeof v[1] === 'number') refs.push({ holder: v, index: 0 });
      else v.forEach(walk);
    } else if (isObject(v)) Object.values(v).forEach(walk);
  };
  walk(entry.inbound_nodes);
  return refs;
}

/** Every value slot in `root`, for type confusion: [holder, key]. */
function slots(root: unknown, out: Array<[Json | unknown[], string | number]> = []): Array<[Json | unknown[], string | number]> {
  const entries: Array<[string | number, unknown]> = Array.isArray(root) ? root.map((v, i) => [i, v]) : isObject(root) ? Object.entries(root) : [];
  for (const [k, v] of entries) {
    out.push([root as Json | unknown[], k]);
    slots(v, out);
  }
  return out;
}

/** A placeholder replaced by deeply nested text after JSON.stringify (which would itself overflow on it). */
const DEEP = '"__deep__"';

/**
 * One structural mutation of a model's JSON (a copy): dangling or cyclic inbound nodes, unknown classes, absurd
 * sizes, deep nesting, paths leaving the model's folder, swapped types. `outside` is a path the program must not open.
 */
export function mutateJson(rng: Rng, src: unknown, outside: string): { label: string; text: string } {
  const done = (label: string, value: unknown = json, deep = '') => ({ label, text: JSON.stringify(value).replace(DEEP, deep) });
  const json = structuredClone(src) as Json;
  const layers = layerEntries(json);
  const withInbound = layers.filter((l) => inboundRefs(l).length > 0);
  const kind = int(rng, 0, 9);
  if (kind <= 1 && withInbound.length > 0) {
    const target = pick(rng, withInbound);
    const ref = pick(rng, inboundRefs(target));
    if (kind === 0) {
      ref.holder[0] = 'no_such_layer';
      return done('dangling-inbound');
    }
    // A cycle: this layer's input is itself or a layer after it.
    const later = withInbound.slice(withInbound.indexOf(target));
    const other = pick(rng, later);
    ref.holder[0] = (other.config as Json).name ?? other.name;
    if (isObject(other.config)) other.name ??= other.config.name;
    return done('cycle-inbound');
  }
  if (kind === 2 && layers.length > 0) {
    pick(rng, layers).class_name = pick(rng, ['FancyAttention', '__proto__', 'constructor', 'Lambda', '']);
    return done('unknown-class');
  }
  if (kind === 3 && layers.length > 0) {
    const layer = pick(rng, layers);
    const config = layer.config as Json;
    const key = pick(rng, [
      'units',
      'filters',
      'kernel_size',
      'strides',
      'pool_size',
      'batch_input_shape',
      'batch_shape',
      'target_shape',
      'rate',
      'depth_multiplier',
    ]);
    const v = pick(rng, [2 ** 31, 1e9, -1, 0, 65536 * 65536, 1e308]);
    config[key] = /shape|size|strides/.test(key) ? (key.includes('batch') ? [null, v, v, 3] : [v, v]) : v;
    return done(`absurd-${key}=${v}`);
  }
  if (kind === 4) {
    const depth = pick(rng, [2000, 20000, 200000]);
    if (layers.length > 0 && rng() < 0.5) {
      const layer = pick(rng, layers);
      const inner = JSON.stringify(layer);
      for (const k of Object.keys(layer)) delete layer[k];
      (layer as unknown as { x: string }).x = '__deep__';
      const text = JSON.stringify(json).replace(
        `{"x":${DEEP}}`,
        '{"class_name":"Sequential","config":{"name":"s","layers":['.repeat(depth) + inner + ']}}'.repeat(depth),
      );
      return { label: `deep-sequential×${depth}`, text };
    }
    json.extra = '__deep__';
    return done(`deep-array×${depth}`, json, '['.repeat(depth) + '0' + ']'.repeat(depth));
  }
  if (kind === 5) {
    const all = slots(json).filter(([, k]) => typeof k === 'string' && /path|weights|file|onnx|dir/i.test(k));
    const p = pick(rng, [outside, '../../../../../../etc/passwd', '/etc/passwd', `file://${outside}`]);
    if (all.length > 0) {
      const [holder, key] = pick(rng, all);
      (holder as Json)[key as string] = Array.isArray((holder as Json)[key as string]) ? [p] : p;
    } else json.weights = p;
    return done('path-outside');
  }
  if (kind === 6 && layers.length > 0) {
    const list = slots(json).find(([h, k]) => k === 'layers' && Array.isArray((h as Json)[k]));
    if (list) {
      const [holder] = list;
      const arr = (holder as Json).layers as unknown[];
      // Copies of the list's smallest entry, at most ~30 MB of JSON.
      const smallest = arr.map((l) => JSON.stringify(l)).sort((a, b) => a.length - b.length)[0] ?? '{}';
      const copies = Math.min(pick(rng, [5000, 50000]), Math.floor(30e6 / smallest.length));
      (holder as Json).layers = Array.from({ length: copies }, () => JSON.parse(smallest));
      return done(`layers×${copies}`);
    }
  }
  const all = slots(json);
  if (all.length === 0) return done('replaced-root', pick(rng, [null, [], 'x', 1e308]));
  const count = int(rng, 1, 4);
  for (let i = 0; i < count; i++) {
    const [holder, key] = pick(rng, all);
    (holder as Json)[key as string] = pick(rng, [null, -1, 2 ** 31, 1e308, '1e999', '', [], {}, [1e9, 1e9, 1e9], true]);
  }
  return done(`swap-types×${count}`);
}
