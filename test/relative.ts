// How far a result is from its reference, in one number. It imports nothing: bench/ and the browser tests use it too.

/** Largest |a − b| over largest |b| (over 1 where b is all zeros). */
export function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale || 1);
}
