// A protocol-buffers reader for ONNX files: ModelProto and what it holds, into the values the writer in proto.ts
// takes. Tensor data becomes raw little-endian bytes whichever way the file stored it (raw_data, float_data,
// int32_data, int64_data, double_data, uint64_data, or external data in files beside the model).
import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { TransferkitError } from '../../errors.js';
import { onnxModelProblem } from './validate.js';
import {
  type AttributeValue,
  DataType,
  type DataTypeCode,
  type Dim,
  type GraphValue,
  type ModelValue,
  type NodeValue,
  type OpsetImport,
  type TensorValue,
  type ValueInfo,
} from './proto.js';

class ProtoError extends Error {}

/** One field as read: its number, wire type and value (a varint, a 32/64-bit word, or a byte range). */
interface Field {
  no: number;
  wire: number;
  int: bigint;
  bytes: Uint8Array;
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new ProtoError('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtoError('varint longer than 10 bytes');
    }
  }

  /** A varint that is a length or a tag: small, read as a number. */
  small(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new ProtoError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
      if (mul > 2 ** 49) throw new ProtoError('length too large');
    }
  }

  take(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new ProtoError(`field of ${n} bytes runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  field(): Field {
    const key = this.small();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    const empty = this.buf.subarray(0, 0);
    if (wire === 0) return { no, wire, int: this.varint(), bytes: empty };
    if (wire === 1) return { no, wire, int: 0n, bytes: this.take(8) };
    if (wire === 5) return { no, wire, int: 0n, bytes: this.take(4) };
    if (wire === 2) return { no, wire, int: 0n, bytes: this.take(this.small()) };
    throw new ProtoError(`unsupported wire type ${wire} (field ${no})`);
  }
}

function fields(buf: Uint8Array, visit: (f: Field) => void): void {
  const r = new Reader(buf);
  while (!r.done) visit(r.field());
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
/** A signed int64 as a number, or a bigint where a double cannot hold it exactly. */
function int64(v: bigint): number | bigint {
  const s = BigInt.asIntN(64, v);
  return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}
const f32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);

/** Repeated varints, packed (wire 2) or not. */
function pushVarints(f: Field, out: bigint[]): void {
  if (f.wire === 0) out.push(f.int);
  else {
    const r = new Reader(f.bytes);
    while (!r.done) out.push(r.varint());
  }
}

/** Repeated fixed-width values, packed or not, appended as raw bytes. */
function pushFixed(f: Field, out: Uint8Array[]): void {
  out.push(f.bytes);
}

const ELEMENT_BYTES: Partial<Record<number, number>> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8 };

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Where external tensor data is read from: the model's folder, with every path confined to it. */
export interface ExternalData {
  dir: string;
  /** Files already opened, by resolved path. */
  cache: Map<string, Uint8Array>;
}

function externalBytes(name: string, entries: Map<string, string>, ext: ExternalData | undefined): Uint8Array {
  const location = entries.get('location');
  if (!ext) throw new ProtoError(`tensor ${name} stores its data in an external file (${location}); read the model from its file so the folder is known`);
  if (!location) throw new ProtoError(`tensor ${name}: external data without a location`);
  const root = realpathSync(ext.dir);
  const file = path.resolve(root, location);
  const rel = path.relative(root, file);
  if (path.isAbsolute(location) || rel.startsWith('..') || path.isAbsolute(rel))
    throw new ProtoError(`tensor ${name}: external data location '${location}' is outside the model's folder; only files beside the model are read`);
  let data = ext.cache.get(file);
  if (!data) {
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      throw new ProtoError(`tensor ${name}: its external data file ${location} is missing beside the model`);
    }
    if (path.relative(root, real).startsWith('..')) throw new ProtoError(`tensor ${name}: external data '${location}' links outside the model's folder`);
    if (!statSync(real).isFile()) throw new ProtoError(`tensor ${name}: external data '${location}' is not a file`);
    data = new Uint8Array(readFileSync(real));
    ext.cache.set(file, data);
  }
  const offset = Number(entries.get('offset') ?? 0);
  const length = entries.has('length') ? Number(entries.get('length')) : data.length - offset;
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > data.length)
    throw new ProtoError(`tensor ${name}: external data ${location} [${offset}, +${length}) runs past the file's ${data.length} bytes`);
  return data.subarray(offset, offset + length);
}

function readTensor(buf: Uint8Array, ext: ExternalData | undefined): TensorValue {
  const dims: bigint[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | undefined;
  const fixed: Uint8Array[] = [];
  const varints: bigint[] = [];
  let varintField = 0;
  const external = new Map<string, string>();
  let location = 0;
  fields(buf, (f) => {
    if (f.no === 1) pushVarints(f, dims);
    else if (f.no === 2) dataType = Number(f.int);
    else if (f.no === 8) name = text(f.bytes);
    else if (f.no === 9) raw = f.bytes;
    else if (f.no === 4 || f.no === 10) pushFixed(f, fixed);
    else if (f.no === 5 || f.no === 7 || f.no === 11) {
      varintField = f.no;
      pushVarints(f, varints);
    } else if (f.no === 6) throw new ProtoError(`tensor ${name || '(unnamed)'} holds strings, which transferkit does not read`);
    else if (f.no === 13) {
      let key = '';
      let value = '';
      fields(f.bytes, (e) => {
        if (e.no === 1) key = text(e.bytes);
        else if (e.no === 2) value = text(e.bytes);
      });
      external.set(key, value);
    } else if (f.no === 14) location = Number(f.int);
  });
  const size = ELEMENT_BYTES[dataType];
  if (size === undefined) throw new ProtoError(`tensor ${name}: data type ${dataType} is not supported`);
  const count = dims.reduce((a, d) => a * Number(d), 1);
  let bytes: Uint8Array;
  if (location === 1) bytes = externalBytes(name, external, ext);
  else if (raw) bytes = raw;
  else if (fixed.length) bytes = concat(fixed);
  else if (varints.length) {
    bytes = new Uint8Array(varints.length * size);
    const view = new DataView(bytes.buffer);
    varints.forEach((v, i) => {
      if (varintField === 7 || varintField === 11) view.setBigUint64(i * 8, BigInt.asUintN(64, v), true);
      else if (size === 4) view.setUint32(i * 4, Number(BigInt.asUintN(32, v)), true);
      else if (size === 2) view.setUint16(i * 2, Number(BigInt.asUintN(16, v)), true);
      else view.setUint8(i, Number(BigInt.asUintN(8, v)));
    });
  } else bytes = new Uint8Array(0);
  if (bytes.length !== count * size) throw new ProtoError(`tensor ${name}: ${bytes.length} bytes of data for ${count} elements of ${size} bytes`);
  // A view into the file's bytes, not a copy: a 350 MB model is held once. Typed views need a copy (unaligned).
  return { name, dims: dims.map((d) => Number(d)), dataType: dataType as DataTypeCode, raw: bytes };
}

function readAttribute(buf: Uint8Array, ext: ExternalData | undefined): [string, AttributeValue] {
  let name = '';
  let type = 0;
  let f: number | undefined;
  let i: bigint | undefined;
  let s: Uint8Array | undefined;
  let t: TensorValue | undefined;
  let g: GraphValue | undefined;
  const floats: Uint8Array[] = [];
  const ints: bigint[] = [];
  const strings: string[] = [];
  fields(buf, (x) => {
    if (x.no === 1) name = text(x.bytes);
    else if (x.no === 20) type = Number(x.int);
    else if (x.no === 2) f = f32(x.bytes);
    else if (x.no === 3) i = x.int;
    else if (x.no === 4) s = x.bytes;
    else if (x.no === 5) t = readTensor(x.bytes, ext);
    else if (x.no === 6) g = readGraph(x.bytes, ext);
    else if (x.no === 7) pushFixed(x, floats);
    else if (x.no === 8) pushVarints(x, ints);
    else if (x.no === 9) strings.push(text(x.bytes));
    else if (x.no === 10 || x.no === 11) throw new ProtoError(`attribute ${name}: lists of tensors or graphs are not supported`);
  });
  switch (type) {
    case 1:
      return [name, { float: f ?? 0 }];
    case 2:
      return [name, int64(i ?? 0n)];
    case 3:
      return [name, text(s ?? new Uint8Array(0))];
    case 4:
      if (!t) throw new ProtoError(`attribute ${name}: TENSOR without a tensor`);
      return [name, { tensor: t }];
    case 5:
      if (!g) throw new ProtoError(`attribute ${name}: GRAPH without a graph`);
      return [name, { graph: g }];
    case 6: {
      const all = concat(floats);
      const view = new DataView(all.buffer, all.byteOffset, all.byteLength);
      return [name, { floats: Array.from({ length: all.length / 4 }, (_, k) => view.getFloat32(k * 4, true)) }];
    }
    case 7: {
      const values = ints.map(int64);
      return [name, values.every((v) => typeof v === 'number') ? (values as number[]) : { ints: values }];
    }
    case 8:
      return [name, { strings }];
    default:
      throw new ProtoError(`attribute ${name}: type ${type} is not supported`);
  }
}

function readNode(buf: Uint8Array, ext: ExternalData | undefined): NodeValue {
  const node: NodeValue = { opType: '', inputs: [], outputs: [], name: '', attributes: {} };
  fields(buf, (f) => {
    if (f.no === 1) node.inputs.push(text(f.bytes));
    else if (f.no === 2) node.outputs.push(text(f.bytes));
    else if (f.no === 3) node.name = text(f.bytes);
    else if (f.no === 4) node.opType = text(f.bytes);
    else if (f.no === 5) {
      const [k, v] = readAttribute(f.bytes, ext);
      node.attributes[k] = v;
    } else if (f.no === 7) {
      const domain = text(f.bytes);
      if (domain) node.domain = domain;
    } else if (f.no === 9) {
      let key = '';
      let value = '';
      fields(f.bytes, (e) => {
        if (e.no === 1) key = text(e.bytes);
        else if (e.no === 2) value = text(e.bytes);
      });
      node.metadata = { ...node.metadata, [key]: value };
    }
  });
  return node;
}

function readValueInfo(buf: Uint8Array): ValueInfo {
  const v: ValueInfo = { name: '', dims: undefined };
  fields(buf, (f) => {
    if (f.no === 1) v.name = text(f.bytes);
    else if (f.no === 2)
      fields(f.bytes, (type) => {
        if (type.no !== 1) return; // sequence/map types carry no tensor shape
        fields(type.bytes, (tensor) => {
          if (tensor.no === 1) {
            const elem = Number(tensor.int);
            if (elem !== DataType.FLOAT) v.elemType = elem as DataTypeCode;
          } else if (tensor.no === 2) {
            const dims: Dim[] = [];
            fields(tensor.bytes, (dim) => {
              if (dim.no !== 1) return;
              let d: Dim = '?';
              fields(dim.bytes, (x) => {
                if (x.no === 1) d = Number(BigInt.asIntN(64, x.int));
                else if (x.no === 2) d = text(x.bytes);
              });
              dims.push(d);
            });
            v.dims = dims;
          }
        });
      });
  });
  return v;
}

function readGraph(buf: Uint8Array, ext: ExternalData | undefined): GraphValue {
  const g: GraphValue = { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] };
  fields(buf, (f) => {
    if (f.no === 1) g.nodes.push(readNode(f.bytes, ext));
    else if (f.no === 2) g.name = text(f.bytes);
    else if (f.no === 5) g.initializers.push(readTensor(f.bytes, ext));
    else if (f.no === 11) g.inputs.push(readValueInfo(f.bytes));
    else if (f.no === 12) g.outputs.push(readValueInfo(f.bytes));
    else if (f.no === 13) g.valueInfo?.push(readValueInfo(f.bytes));
    else if (f.no === 15) throw new ProtoError('sparse initializers are not supported');
  });
  return g;
}

/** Decodes a ModelProto; `ext` says where external data lives (the model's folder). */
export function decodeModel(bytes: Uint8Array, ext?: ExternalData): ModelValue {
  const model: ModelValue = { irVersion: 0, producerName: '', opsetImports: [], graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [] } };
  let sawGraph = false;
  fields(bytes, (f) => {
    if (f.no === 1) model.irVersion = Number(f.int);
    else if (f.no === 2) model.producerName = text(f.bytes);
    else if (f.no === 7) {
      model.graph = readGraph(f.bytes, ext);
      sawGraph = true;
    } else if (f.no === 8) {
      const o: OpsetImport = { domain: '', version: 0 };
      fields(f.bytes, (x) => {
        if (x.no === 1) o.domain = text(x.bytes);
        else if (x.no === 2) o.version = Number(x.int);
      });
      model.opsetImports.push(o);
    }
  });
  if (!sawGraph) throw new ProtoError('no graph in the file');
  return model;
}

/** Reads an ONNX file (external data from files beside it); a damaged or foreign file is an error naming it. */
export function readOnnxFile(file: string): ModelValue {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new TransferkitError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return decodeOnnxFile(file, bytes);
}

/** Decodes the bytes of `file` (read by the caller, who may hash them too). */
export function decodeOnnxFile(file: string, bytes: Uint8Array): ModelValue {
  let model: ModelValue;
  try {
    model = decodeModel(bytes, { dir: path.dirname(path.resolve(file)), cache: new Map() });
  } catch (err) {
    if (!(err instanceof ProtoError)) throw err;
    throw new TransferkitError(`${file}: not a readable ONNX model (${err.message}); give a .onnx file exported by torch.onnx, optimum or tf2onnx`);
  }
  const initializers = new Set(model.graph.initializers.map((t) => t.name));
  const problem = onnxModelProblem(
    model,
    model.graph.inputs.find((i) => !initializers.has(i.name)),
  );
  if (problem) throw new TransferkitError(`${file}: not a usable ONNX model (${problem})`);
  return model;
}
