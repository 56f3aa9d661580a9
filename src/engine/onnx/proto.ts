// A minimal protocol-buffers writer for the ONNX messages transferkit emits (ModelProto and what it holds).
// ONNX is proto2: repeated scalars are written unpacked, which every reader accepts.

class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  private varint(value: bigint): void {
    // Negative int64 values take ten bytes of two's complement.
    let v = BigInt.asUintN(64, value);
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    // The inner chunks are taken as they are: weights are copied once, in finish(), not once per nesting level.
    this.key(field, 2);
    this.varint(BigInt(inner.size));
    for (const c of inner.chunks) this.push(c);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

/** TensorProto.DataType codes. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * Integers as int64 raw bytes. Values read back from int64 tensors are doubles, where INT64_MAX (Slice's "to the
 * end") becomes 2^63, which BigInt64Array would wrap to INT64_MIN ("before the start"): the limits saturate.
 */
export function int64Raw(values: number[]): Uint8Array {
  const data = BigInt64Array.from(values, (v) => {
    const i = BigInt(v);
    return i > INT64_MAX ? INT64_MAX : i < INT64_MIN ? INT64_MIN : i;
  });
  return new Uint8Array(data.buffer);
}

/** A tensor; its data always as little-endian raw bytes (a reader converts float_data/int64_data/external data). */
export interface TensorValue {
  name: string;
  dims: number[];
  dataType: DataTypeCode;
  raw: Uint8Array;
}

/**
 * An attribute: an int (a bigint where it does not fit a double exactly, e.g. INT64_MAX), a string, ints, floats,
 * a float, strings, a tensor, or a subgraph (If/Loop bodies).
 */
export type AttributeValue =
  | number
  | bigint
  | string
  | number[]
  | { ints: Array<number | bigint> }
  | { floats: number[] }
  | { float: number }
  | { strings: string[] }
  | { tensor: TensorValue }
  | { graph: GraphValue };

export interface NodeValue {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, AttributeValue>;
  /** Operator domain; absent or '' for the default ONNX domain. */
  domain?: string;
  /** The node's metadata_props (torch's dynamo exporter records each node's module path there). */
  metadata?: Record<string, string>;
}

/** A dimension: a number, or a name for a dynamic one (the batch). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  /** Absent: the rank is unknown (no shape recorded). */
  dims: Dim[] | undefined;
  /** Element type (default FLOAT). */
  elemType?: DataTypeCode;
}

export interface GraphValue {
  name: string;
  nodes: NodeValue[];
  initializers: TensorValue[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Shapes of intermediate values, as the file recorded them. */
  valueInfo?: ValueInfo[];
}

export interface OpsetImport {
  /** '' (or 'ai.onnx') for the default domain. */
  domain: string;
  version: number;
}

/** A whole ModelProto: the graph, the opsets it imports and the IR version. */
export interface ModelValue {
  irVersion: number;
  producerName: string;
  opsetImports: OpsetImport[];
  graph: GraphValue;
}

function writeTensor(w: Writer, t: TensorValue): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

function writeAttribute(w: Writer, name: string, value: AttributeValue): void {
  w.string(1, name);
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer; pass {float: ${value}}`);
    w.int(3, value).int(20, 2);
  } else if (typeof value === 'string') {
    w.string(4, value).int(20, 3);
  } else if (Array.isArray(value) || 'ints' in value) {
    for (const v of Array.isArray(value) ? value : value.ints) w.int(8, v);
    w.int(20, 7);
  } else if ('floats' in value) {
    for (const v of value.floats) w.float(7, v);
    w.int(20, 6);
  } else if ('strings' in value) {
    for (const v of value.strings) w.string(9, v);
    w.int(20, 8);
  } else if ('tensor' in value) {
    w.message(5, (t) => writeTensor(t, value.tensor)).int(20, 4);
  } else if ('graph' in value) {
    w.message(6, (g) => writeGraph(g, value.graph)).int(20, 5);
  } else {
    w.float(2, value.float).int(20, 1);
  }
}

function writeValueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name).message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType ?? DataType.FLOAT);
      if (v.dims)
        tensor.message(2, (shape) => {
          for (const d of v.dims ?? []) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        });
    }),
  );
}

function writeNode(w: Writer, n: NodeValue): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes)) w.message(5, (a) => writeAttribute(a, k, v));
  if (n.domain) w.string(7, n.domain);
  for (const [k, v] of Object.entries(n.metadata ?? {})) w.message(9, (e) => e.string(1, k).string(2, v));
}

function writeGraph(g: Writer, graph: GraphValue): void {
  for (const n of graph.nodes) g.message(1, (node) => writeNode(node, n));
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, (tw) => writeTensor(tw, t));
  for (const i of graph.inputs) g.message(11, (vw) => writeValueInfo(vw, i));
  for (const o of graph.outputs) g.message(12, (vw) => writeValueInfo(vw, o));
  for (const v of graph.valueInfo ?? []) g.message(13, (vw) => writeValueInfo(vw, v));
}

/** Serialises a whole ModelProto (weights inline: a file over 2 GB does not fit one protobuf message). */
export function encodeModelValue(model: ModelValue): Uint8Array {
  const w = new Writer();
  w.int(1, model.irVersion).string(2, model.producerName);
  w.message(7, (g) => writeGraph(g, model.graph));
  for (const o of model.opsetImports) w.message(8, (op) => op.string(1, o.domain).int(2, o.version));
  return w.finish();
}

/** Serialises an ONNX ModelProto (IR version 8, default opset `opset`). */
export function encodeModel(graph: GraphValue, opset = 17): Uint8Array {
  return encodeModelValue({ irVersion: 8, producerName: 'transferkit', opsetImports: [{ domain: '', version: opset }], graph });
}
