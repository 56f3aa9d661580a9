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

export const DataType = { FLOAT: 1, INT64: 7 } as const;

export interface TensorValue {
  name: string;
  dims: number[];
  dataType: (typeof DataType)[keyof typeof DataType];
  raw: Uint8Array;
}

export type AttributeValue = number | string | number[] | { floats: number[] } | { float: number };

export interface NodeValue {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, AttributeValue>;
}

/** A dimension: a number, or a name for a dynamic one (the batch). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dims: Dim[];
}

export interface GraphValue {
  name: string;
  nodes: NodeValue[];
  initializers: TensorValue[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

function writeTensor(w: Writer, t: TensorValue): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

function writeAttribute(w: Writer, name: string, value: AttributeValue): void {
  w.string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer; pass {float: ${value}}`);
    w.int(3, value).int(20, 2);
  } else if (typeof value === 'string') {
    w.string(4, value).int(20, 3);
  } else if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    w.int(20, 7);
  } else if ('floats' in value) {
    for (const v of value.floats) w.float(7, v);
    w.int(20, 6);
  } else {
    w.float(2, value.float).int(20, 1);
  }
}

function writeValueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name).message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, DataType.FLOAT);
      tensor.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serialises an ONNX ModelProto (IR version 8, default opset `opset`). */
export function encodeModel(graph: GraphValue, opset = 17): Uint8Array {
  const w = new Writer();
  w.int(1, 8).string(2, 'transferkit');
  w.message(7, (g) => {
    for (const n of graph.nodes) {
      g.message(1, (node) => {
        for (const i of n.inputs) node.string(1, i);
        for (const o of n.outputs) node.string(2, o);
        node.string(3, n.name).string(4, n.opType);
        for (const [k, v] of Object.entries(n.attributes)) node.message(5, (a) => writeAttribute(a, k, v));
      });
    }
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const i of graph.inputs) g.message(11, (vw) => writeValueInfo(vw, i));
    for (const o of graph.outputs) g.message(12, (vw) => writeValueInfo(vw, o));
  });
  w.message(8, (op) => op.string(1, '').int(2, opset));
  return w.finish();
}
