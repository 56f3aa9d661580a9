// The protocol-buffers wire format, read: fields (varints, fixed words, byte ranges), repeated values packed or
// not; a damaged buffer is a ProtoError, which the ONNX reader turns into an error naming the file.
export class ProtoError extends Error {}

/** One field as read: its number, wire type and value (a varint, a 32/64-bit word, or a byte range). */
export interface Field {
  no: number;
  wire: number;
  int: bigint;
  bytes: Uint8Array;
}

export class Reader {
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

export function fields(buf: Uint8Array, visit: (f: Field) => void): void {
  const r = new Reader(buf);
  while (!r.done) visit(r.field());
}

export const text = (b: Uint8Array) => new TextDecoder().decode(b);
/** A signed int64 as a number, or a bigint where a double cannot hold it exactly. */
export function int64(v: bigint): number | bigint {
  const s = BigInt.asIntN(64, v);
  return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}
export const f32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);

/** Repeated varints, packed (wire 2) or not. */
export function pushVarints(f: Field, out: bigint[]): void {
  if (f.wire === 0) out.push(f.int);
  else {
    const r = new Reader(f.bytes);
    while (!r.done) out.push(r.varint());
  }
}

/** Repeated fixed-width values, packed or not, appended as raw bytes. */
export function pushFixed(f: Field, out: Uint8Array[]): void {
  out.push(f.bytes);
}

export { concatBytes as concat } from '../../util/bytes.js';
