// Test-time augmentation (fastai's tta): the model sees each image as it is, mirrored, and slightly zoomed in
// (mirrored too), and its outputs are averaged.

/** A centre crop of 1/zoom of each side, resized back bilinearly (a zoom in), of NHWC images. */
function zoomIn(x: Float32Array, n: number, h: number, w: number, c: number, zoom: number): Float32Array {
  const out = new Float32Array(x.length);
  const [ch, cw] = [h / zoom, w / zoom];
  const [oy, ox] = [(h - ch) / 2, (w - cw) / 2];
  for (let b = 0; b < n; b++) {
    const img = b * h * w * c;
    for (let i = 0; i < h; i++) {
      const sy = Math.min(h - 1, Math.max(0, oy + ((i + 0.5) * ch) / h - 0.5));
      const [y0, fy] = [Math.floor(sy), sy - Math.floor(sy)];
      const y1 = Math.min(h - 1, y0 + 1);
      for (let j = 0; j < w; j++) {
        const sx = Math.min(w - 1, Math.max(0, ox + ((j + 0.5) * cw) / w - 0.5));
        const [x0, fx] = [Math.floor(sx), sx - Math.floor(sx)];
        const x1 = Math.min(w - 1, x0 + 1);
        for (let k = 0; k < c; k++) {
          const at = (y: number, xx: number) => x[img + (y * w + xx) * c + k];
          const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
          const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
          out[img + (i * w + j) * c + k] = top * (1 - fy) + bottom * fy;
        }
      }
    }
  }
  return out;
}

/** NHWC images mirrored left to right. */
function mirror(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const from = ((b * h + i) * w + j) * c;
        out.set(x.subarray(from, from + c), ((b * h + i) * w + (w - 1 - j)) * c);
      }
  return out;
}

/** The views TTA averages over: the batch, mirrored, zoomed in by 10%, and both. */
export function ttaViews(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array[] {
  const zoomed = zoomIn(x, n, h, w, c, 1.1);
  return [x, mirror(x, n, h, w, c), zoomed, mirror(zoomed, n, h, w, c)];
}
