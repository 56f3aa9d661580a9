/**
 * Bilinear resize of a channels-last image with any number of channels (sharp stops at four), sampling at
 * pixel centres as tf.image.resizeBilinear with halfPixelCenters does.
 */
export function resizeBilinear(src: Float32Array, h: number, w: number, channels: number, outH: number, outW: number): Float32Array {
  if (h === outH && w === outW) return src;
  const out = new Float32Array(outH * outW * channels);
  const sy = h / outH;
  const sx = w / outW;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const dy = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const dx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const a = src[(y0 * w + x0) * channels + c];
        const b = src[(y0 * w + x1) * channels + c];
        const d = src[(y1 * w + x0) * channels + c];
        const e = src[(y1 * w + x1) * channels + c];
        out[(y * outW + x) * channels + c] = (a * (1 - dx) + b * dx) * (1 - dy) + (d * (1 - dx) + e * dx) * dy;
      }
    }
  }
  return out;
}
