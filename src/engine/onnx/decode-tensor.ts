// ONNX TensorProto, read: data becomes raw little-endian bytes whichever way the file stored it (raw_data,
// float_data, int32_data, int64_data, double_data, uint64_data, or external data in files beside the model).
import type { DataTypeCode, TensorValue } from './proto.js';
import { ProtoError, concat, fields, pushFixed, pushVarints, text } from './protobuf.js';

const ELEMENT_BYTES: Partial<Record<number, number>> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8 };

/** Where external tensor data is read from: a file beside the model (external-files.ts), by its location. */
export interface ExternalData {
  /** The whole file at `location` (relative to the model's folder); `tensor` names the tensor in errors. */
  read(location: string, tensor: string): Uint8Array;
}

function externalBytes(name: string, entries: Map<string, string>, ext: ExternalData | undefined): Uint8Array {
  const location = entries.get('location');
  if (!ext) throw new ProtoError(`tensor ${name} stores its data in an external file (${location}); read the model from its file so the folder is known`);
  if (!location) throw new ProtoError(`tensor ${name}: external data without a location`);
  const data = ext.read(location, name);
  const offset = Number(entries.get('offset') ?? 0);
  const length = entries.has('length') ? Number(entries.get('length')) : data.length - offset;
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > data.length)
    throw new ProtoError(`tensor ${name}: external data ${location} [${offset}, +${length}) runs past the file's ${data.length} bytes`);
  return data.subarray(offset, offset + length);
}

export function readTensor(buf: Uint8Array, ext: ExternalData | undefined): TensorValue {
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
