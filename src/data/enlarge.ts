// libvips's bilinear enlargement, reproduced in plain arithmetic: what sharp's
// `resize(width, height, { fit: 'fill', kernel: 'linear' })` gives when both sides grow, so that small JPEGs
// decoded by the wasm decoder (jpeg.ts, up to 128×128 px) need no sharp call. sharp costs ~0.5 ms per call whatever the size,
// several times the decode and enlargement of a CIFAR-sized image. Checked byte for byte against sharp 0.35
// (libvips 8.18): every CIFAR-10 test image at 96×96, 32×32 sources at 68 output sizes from 33 to 1024 px,
// sources from 17×31 to 500×400 at outputs up to 2000 px (test/decode.test.ts keeps a sample of these, so a
// sharp upgrade that changes its arithmetic fails there).

/**
 * What vips_affine runs for the enlargement: the inverse of diag(1 / (w / width), 1 / (h / height)) as libvips
 * computes it (times 1 / det), the input offset of 0.5 taken off and then the one-pixel copied border added, the
 * x coordinate accumulated along the row in double, and the bilinear interpolator's 12-bit fixed-point weights.
 * The rounding of each step matters: other orders of the same arithmetic differ from sharp by one on a few
 * pixels in a thousand.
 */
function steps(w: number, width: number, h: number, height: number): { dx: number; dy: number } {
  const hscale = 1 / (w / width);
  const vscale = 1 / (h / height);
  const inv = 1 / (hscale * vscale);
  return { dx: vscale * inv, dy: hscale * inv };
}

/** Enlarges RGBA pixels (as the wasm decoder gives them) from h × w to height × width, both larger: RGB, 0–255 float32. */
export function enlargeRgbaLikeVips(rgba: Uint8ClampedArray, h: number, w: number, height: number, width: number): Float32Array {
  const { dx, dy } = steps(w, width, h, height);
  // Per output column: the left input pixel and its neighbour (edges copied), and the 12-bit x weight.
  const left = new Int32Array(width);
  const right = new Int32Array(width);
  const fx = new Int32Array(width);
  let x = 0.5; // 0 · dx − 0.5 (the input offset) + 1 (the border)
  for (let o = 0; o < width; o++, x += dx) {
    const i = Math.trunc(x);
    fx[o] = Math.trunc((x - i) * 4096);
    left[o] = Math.min(Math.max(i - 1, 0), w - 1) * 4;
    right[o] = Math.min(i, w - 1) * 4;
  }
  const out = new Float32Array(height * width * 3);
  let q = 0;
  for (let o = 0; o < height; o++) {
    const y = o * dy - 0.5 + 1;
    const i = Math.trunc(y);
    const fy = Math.trunc((y - i) * 4096);
    const gy = 4096 - fy;
    const top = Math.min(Math.max(i - 1, 0), h - 1) * w * 4;
    const bottom = Math.min(i, h - 1) * w * 4;
    for (let p = 0; p < width; p++, q += 3) {
      const c4 = (fy * fx[p]) >> 12;
      const c2 = (gy * fx[p]) >> 12;
      const c3 = fy - c4;
      const c1 = gy - c2;
      const a = top + left[p];
      const b = top + right[p];
      const c = bottom + left[p];
      const d = bottom + right[p];
      out[q] = (c1 * rgba[a] + c2 * rgba[b] + c3 * rgba[c] + c4 * rgba[d] + 2048) >> 12;
      out[q + 1] = (c1 * rgba[a + 1] + c2 * rgba[b + 1] + c3 * rgba[c + 1] + c4 * rgba[d + 1] + 2048) >> 12;
      out[q + 2] = (c1 * rgba[a + 2] + c2 * rgba[b + 2] + c3 * rgba[c + 2] + c4 * rgba[d + 2] + 2048) >> 12;
    }
  }
  return out;
}
