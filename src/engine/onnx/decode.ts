// A reader for ONNX files: ModelProto and what it holds, into the values the writer in proto.ts takes (tensors by
// decode-tensor.ts, the wire format by protobuf.ts).
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
import { type ExternalData, readTensor } from './decode-tensor.js';
import { externalFiles, readModelBytes } from './external-files.js';
import { ProtoError, concat, f32, fields, int64, pushFixed, pushVarints, text } from './protobuf.js';

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
  return decodeOnnxFile(file, readModelBytes(file));
}

/** Decodes the bytes of `file` (read by the caller, who may hash them too). */
export function decodeOnnxFile(file: string, bytes: Uint8Array): ModelValue {
  let model: ModelValue;
  try {
    model = decodeModel(bytes, externalFiles(file));
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
