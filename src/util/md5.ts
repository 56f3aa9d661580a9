// MD5 (RFC 1321) of bytes in memory, for the browser: Web Crypto has no MD5, and Keras publishes its weights
// files' md5 only, which the browser checks as Node does (src/browser/weights-url.ts).

/** Per-round left rotations, and the sine table (floor(|sin(i + 1)| · 2³²)). */
const SHIFT = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = Uint32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32));

/** The message padded to 64-byte blocks: a 1 bit, zeros, then its length in bits (little-endian). */
function padded(bytes: Uint8Array): DataView {
  const total = Math.ceil((bytes.length + 9) / 64) * 64;
  const out = new Uint8Array(total);
  out.set(bytes);
  out[bytes.length] = 0x80;
  const view = new DataView(out.buffer);
  view.setUint32(total - 8, (bytes.length * 8) >>> 0, true);
  view.setUint32(total - 4, Math.floor(bytes.length / 2 ** 29), true);
  return view;
}

/** The md5 of `bytes` as lowercase hex. */
export function md5Hex(bytes: Uint8Array): string {
  const view = padded(bytes);
  const h = Uint32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);
  const m = new Uint32Array(16);
  for (let at = 0; at < view.byteLength; at += 64) {
    for (let j = 0; j < 16; j++) m[j] = view.getUint32(at + j * 4, true);
    let [a, b, c, d] = h;
    for (let i = 0; i < 64; i++) {
      const round = i >> 4;
      let f: number;
      let g: number;
      if (round === 0) [f, g] = [(b & c) | (~b & d), i];
      else if (round === 1) [f, g] = [(d & b) | (~d & c), (5 * i + 1) & 15];
      else if (round === 2) [f, g] = [b ^ c ^ d, (3 * i + 5) & 15];
      else [f, g] = [c ^ (b | ~d), (7 * i) & 15];
      const s = SHIFT[round * 4 + (i & 3)];
      const sum = (a + f + K[i] + m[g]) >>> 0;
      [a, d, c] = [d, c, b];
      b = (b + ((sum << s) | (sum >>> (32 - s)))) >>> 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
  }
  const digest = new DataView(new ArrayBuffer(16));
  h.forEach((word, i) => digest.setUint32(i * 4, word, true));
  return Array.from(new Uint8Array(digest.buffer), (x) => x.toString(16).padStart(2, '0')).join('');
}
