// A structural check of an Arrow IPC file before apache-arrow reads it: apache-arrow follows message lengths and
// record-batch offsets as they are, and loops forever on a negative one. Every length, offset and count of the
// file's footer and messages (and of each record batch's nodes and buffers) is checked against the bytes there.
// Layout: "ARROW1\0\0", messages (0xFFFFFFFF, int32 length, flatbuffer Message, body), footer, int32, "ARROW1".

/** Reads flatbuffer tables inside [0, end) of `b`, any out-of-bounds read being a problem, not a crash. */
class Flat {
  constructor(
    private readonly v: DataView,
    private readonly end: number,
  ) {}

  private at(p: number, n: number): number {
    if (!(p >= 0 && p + n <= this.end)) throw new Error('an offset points outside the file');
    return p;
  }
  u16 = (p: number) => this.v.getUint16(this.at(p, 2), true);
  i32 = (p: number) => this.v.getInt32(this.at(p, 4), true);
  u32 = (p: number) => this.v.getUint32(this.at(p, 4), true);
  i64 = (p: number) => Number(this.v.getBigInt64(this.at(p, 8), true));
  u8 = (p: number) => this.v.getUint8(this.at(p, 1));

  /** The table at `p`'s field `i`: its absolute position, or null when absent. */
  field(table: number, i: number): number | null {
    const vtable = table - this.i32(table);
    const size = this.u16(vtable);
    if (4 + 2 * i >= size) return null;
    const off = this.u16(vtable + 4 + 2 * i);
    return off ? table + off : null;
  }
  /** Checks the string at `p` (a length, then its bytes) lies in the buffer. */
  string(p: number): void {
    this.at(p + 4, this.u32(p));
  }
  /** The table a uoffset at `p` points to. */
  ref = (p: number) => p + this.u32(p);
  /** A vector of `size`-byte structs at field `i`: the position of its first element and its length. */
  vector(table: number, i: number, size: number): { start: number; length: number } {
    const f = this.field(table, i);
    if (f === null) return { start: 0, length: 0 };
    const v = this.ref(f);
    const length = this.u32(v);
    this.at(v + 4, length * size);
    return { start: v + 4, length };
  }
}

// Message header types (Message.fbs): what a table file holds. Tensors (4, 5) and NONE (0) are refused.
const SCHEMA = 1;
const DICTIONARY_BATCH = 2;
const RECORD_BATCH = 3;
/** MetadataVersion V4 and V5, what Arrow 1.0 and later write. */
const VERSIONS = [3, 4];

/** Every table and vector reached from a Field (its children, its metadata), or a Schema's, lies in the buffer. */
function checkFields(fb: Flat, table: number, fieldsAt: number, metadataAt: number, depth = 0): void {
  if (depth > 64) throw new Error('fields nested more than 64 deep');
  const fields = fb.vector(table, fieldsAt, 4);
  for (let k = 0; k < fields.length; k++) {
    const field = fb.ref(fields.start + 4 * k);
    const name = fb.field(field, 0);
    if (name !== null) fb.string(fb.ref(name));
    checkFields(fb, field, 5, 6, depth + 1);
  }
  const metadata = fb.vector(table, metadataAt, 4);
  for (let k = 0; k < metadata.length; k++) {
    const kv = fb.ref(metadata.start + 4 * k);
    for (const i of [0, 1]) {
      const f = fb.field(kv, i);
      if (f !== null) fb.string(fb.ref(f));
    }
  }
}

/** A Schema table: its fields (1) and custom metadata (2), and its features list (3, int64s). */
function checkSchema(fb: Flat, schema: number): void {
  checkFields(fb, schema, 1, 2);
  fb.vector(schema, 3, 8);
}

/**
 * Checks one message's metadata (a flatbuffer Message at [start, start+length)) against its body's size: a
 * schema (first only), dictionary or record batch of a version apache-arrow reads.
 */
function checkMessage(fb: Flat, start: number, bodyRoom: number, first: boolean): number {
  const msg = fb.ref(start);
  const versionField = fb.field(msg, 0);
  const version = versionField === null ? 0 : fb.u16(versionField);
  if (!VERSIONS.includes(version)) throw new Error(`a message of metadata version ${version}`);
  const bodyField = fb.field(msg, 3);
  const bodyLength = bodyField === null ? 0 : fb.i64(bodyField);
  if (!(bodyLength >= 0 && bodyLength <= bodyRoom)) throw new Error(`a message body of ${bodyLength} bytes where ${bodyRoom} remain`);
  const typeField = fb.field(msg, 1);
  const type = typeField === null ? 0 : fb.u8(typeField);
  // The schema may open the stream (apache-arrow's file writer keeps it in the footer only), and nothing else.
  if ((type === SCHEMA && !first) || ![SCHEMA, DICTIONARY_BATCH, RECORD_BATCH].includes(type)) throw new Error(`a message of type ${type} at this place`);
  const headerField = fb.field(msg, 2);
  if (headerField === null) throw new Error('a message without its header');
  if (type === SCHEMA) checkSchema(fb, fb.ref(headerField));
  if (type === RECORD_BATCH || type === DICTIONARY_BATCH) {
    let batch = fb.ref(headerField);
    if (type === DICTIONARY_BATCH) {
      const data = fb.field(batch, 1);
      if (data === null) return bodyLength;
      batch = fb.ref(data);
    }
    const lengthField = fb.field(batch, 0);
    const rows = lengthField === null ? 0 : fb.i64(lengthField);
    if (rows < 0) throw new Error(`a record batch of ${rows} rows`);
    const nodes = fb.vector(batch, 1, 16);
    for (let k = 0; k < nodes.length; k++) {
      const [length, nulls] = [fb.i64(nodes.start + 16 * k), fb.i64(nodes.start + 16 * k + 8)];
      if (length < 0 || nulls < 0 || nulls > length) throw new Error(`a column of ${length} values with ${nulls} nulls`);
    }
    const buffers = fb.vector(batch, 2, 16);
    for (let k = 0; k < buffers.length; k++) {
      const [offset, length] = [fb.i64(buffers.start + 16 * k), fb.i64(buffers.start + 16 * k + 8)];
      if (offset < 0 || length < 0 || offset + length > bodyLength) throw new Error(`a buffer at [${offset}, +${length}) of a ${bodyLength}-byte body`);
    }
  }
  return bodyLength;
}

/** What is structurally wrong with an Arrow IPC file, or null. */
export function arrowFileProblem(b: Uint8Array): string | null {
  const text = (from: number, n: number) => String.fromCharCode(...b.subarray(from, from + n));
  if (b.length < 18 || text(0, 6) !== 'ARROW1' || text(b.length - 6, 6) !== 'ARROW1') return 'not an Arrow IPC file (no ARROW1 magic at both ends)';
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const footerLength = v.getInt32(b.length - 10, true);
  const footerStart = b.length - 10 - footerLength;
  if (!(footerLength > 0 && footerStart >= 8)) return `its footer length ${footerLength} does not fit the file`;
  try {
    // The footer's blocks: where each record batch (and dictionary) message starts, its metadata and body sizes.
    const footer = new Flat(new DataView(b.buffer, b.byteOffset + footerStart, footerLength), footerLength);
    const root = footer.ref(0);
    const schema = footer.field(root, 1);
    if (schema === null) throw new Error('a footer without a schema');
    checkSchema(footer, footer.ref(schema));
    for (const field of [2, 3]) {
      const blocks = footer.vector(root, field, 24);
      for (let k = 0; k < blocks.length; k++) {
        const p = blocks.start + 24 * k;
        const [offset, meta, body] = [footer.i64(p), footer.i32(p + 8), footer.i64(p + 16)];
        if (!(offset >= 8 && meta > 0 && body >= 0 && offset + meta + body <= footerStart))
          throw new Error(`a record batch block at offset ${offset} (metadata ${meta}, body ${body} bytes) outside the data`);
      }
    }
    // The messages themselves, in order, each within the data.
    const data = new Flat(v, footerStart);
    let pos = 8;
    while (pos + 4 <= footerStart) {
      let length = data.i32(pos);
      let header = 4;
      if (length === -1) {
        length = data.i32(pos + 4);
        header = 8;
      }
      if (length === 0) break; // end of stream
      if (!(length > 0 && pos + header + length <= footerStart)) throw new Error(`a message length of ${length} at byte ${pos}`);
      const metaStart = pos + header;
      const body = checkMessage(new Flat(new DataView(b.buffer, b.byteOffset + metaStart, length), length), 0, footerStart - metaStart - length, pos === 8);
      pos = metaStart + length + body;
    }
  } catch (err) {
    return (err as Error).message;
  }
  return null;
}
