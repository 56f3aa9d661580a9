// Row vectors (n × dim, row-major): unit length, and cosine similarities between two sets.

/** Each row divided by its L2 norm (at least 1e-6), as keras.layers.UnitNormalization does. */
export function unitRows(rows: { x: Float32Array; dim: number }): Float32Array {
  const out = new Float32Array(rows.x.length);
  for (let r = 0; r < out.length; r += rows.dim) {
    let s = 0;
    for (let d = 0; d < rows.dim; d++) s += rows.x[r + d] * rows.x[r + d];
    const norm = Math.max(Math.sqrt(s), 1e-6);
    for (let d = 0; d < rows.dim; d++) out[r + d] = rows.x[r + d] / norm;
  }
  return out;
}

/** For each unit row of `a`, its highest dot product with a unit row of `b`. */
export function nearestSimilarity(a: Float32Array, b: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(a.length / dim).fill(-1);
  for (let i = 0; i < out.length; i++)
    for (let j = 0; j < b.length / dim; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += a[i * dim + d] * b[j * dim + d];
      if (s > out[i]) out[i] = s;
    }
  return out;
}

/** The rows a sink received batch by batch, as one array (`length` values in all). */
export function joinRows(chunks: Float32Array[], length: number): Float32Array {
  const out = new Float32Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
