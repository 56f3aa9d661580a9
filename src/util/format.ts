/** 138357544 → "138,357,544" (Keras's thousands separators, independent of locale). */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** Keras's `readable_memory_size`: bytes in the largest unit that keeps the value ≥ 1, two decimals. */
export function readableMemorySize(bytes: number): string {
  let value = bytes;
  for (const unit of UNITS) {
    if (value / 1024 < 1) return `${value.toFixed(2)} ${unit}`;
    value /= 1024;
  }
  return `${value.toFixed(2)} ${UNITS[UNITS.length - 1]}`;
}

/** Parameters stored as float32: 4 bytes each, the size Keras prints beside its counts. */
export function paramsMemory(params: number): string {
  return readableMemorySize(params * 4);
}

/** Keras's shape notation: [null, 1, 1, 512] → "(None, 1, 1, 512)". */
export function formatShape(shape: ReadonlyArray<number | null> | ReadonlyArray<ReadonlyArray<number | null>>): string {
  if (shape.length > 0 && Array.isArray(shape[0])) {
    return `[${(shape as ReadonlyArray<ReadonlyArray<number | null>>).map((s) => formatShape(s)).join(', ')}]`;
  }
  const dims = (shape as ReadonlyArray<number | null>).map((d) => (d == null ? 'None' : String(d)));
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}
