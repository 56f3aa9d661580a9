import { type AttributeValue, DataType, type Dim, type GraphValue, type NodeValue, type TensorValue, type ValueInfo, encodeModel, int64Raw } from './proto.js';

/** Builds an ONNX graph node by node, with unique value names and constants as initializers. */
export class GraphBuilder {
  private readonly nodes: NodeValue[] = [];
  private readonly initializers: TensorValue[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly used = new Set<string>();
  private readonly made = new Map<string, string>();

  constructor(private readonly name: string) {}

  /** A fresh value name based on `base`. */
  fresh(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_');
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}__${i}`;
    this.used.add(name);
    return name;
  }

  input(name: string, dims: Dim[]): string {
    const n = this.fresh(name);
    this.inputs.push({ name: n, dims });
    return n;
  }

  output(value: string, dims: Dim[] | undefined): void {
    this.outputs.push({ name: value, dims });
  }

  /** A float32 constant. */
  constant(name: string, values: Float32Array | number[], dims: number[]): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    const n = this.fresh(name);
    this.initializers.push({ name: n, dims, dataType: DataType.FLOAT, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return n;
  }

  /** An int64 constant (shapes, axes, pads). */
  ints(name: string, values: number[]): string {
    const n = this.fresh(name);
    this.initializers.push({ name: n, dims: [values.length], dataType: DataType.INT64, raw: int64Raw(values) });
    return n;
  }

  /**
   * Takes in an existing graph's nodes, initializers and inputs (a forward graph to differentiate); its value
   * names are kept and reserved, so fresh names never clash with them.
   */
  adopt(graph: GraphValue): void {
    for (const n of graph.nodes) {
      for (const v of [...n.inputs, ...n.outputs, n.name]) if (v) this.used.add(v);
      this.nodes.push(n);
    }
    for (const t of graph.initializers) {
      this.used.add(t.name);
      this.initializers.push(t);
    }
    for (const i of graph.inputs) {
      this.used.add(i.name);
      this.inputs.push(i);
    }
  }

  /** The value `make` gives, made once per graph under `key` (a rate reshaped for every weight of one rank). */
  once(key: string, make: () => string): string {
    let value = this.made.get(key);
    if (value === undefined) this.made.set(key, (value = make()));
    return value;
  }

  /** Adds a node with `count` outputs and returns their names. */
  ops(opType: string, inputs: string[], count: number, attributes: Record<string, AttributeValue> = {}, hint = opType.toLowerCase()): string[] {
    const outs = Array.from({ length: count }, () => this.fresh(hint));
    this.nodes.push({ opType, inputs, outputs: outs, name: this.fresh(`${hint}_node`), attributes });
    return outs;
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, hint = opType.toLowerCase()): string {
    return this.ops(opType, inputs, 1, attributes, hint)[0];
  }

  /** Removes nodes no value depends on any more (a gradient replaced by a fused update: fold-momentum.ts). */
  drop(nodes: NodeValue[]): void {
    for (const n of nodes) this.nodes.splice(this.nodes.indexOf(n), 1);
  }

  graph(): GraphValue {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  encode(opset?: number): Uint8Array {
    return encodeModel(this.graph(), opset);
  }
}
