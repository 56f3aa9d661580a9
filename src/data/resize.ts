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

/** Pillow's resampling filters: support radius and kernel. */
const PIL_FILTERS = {
  bilinear: { support: 1, f: (x: number) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: {
    support: 2,
    f: (x: number) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos3: {
    support: 3,
    f: (x: number) => {
      const sinc = (v: number) => (v === 0 ? 1 : Math.sin(Math.PI * v) / (Math.PI * v));
      return Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0;
    },
  },
};
export type PilFilter = keyof typeof PIL_FILTERS;

/** Pillow's 8-bit fixed point: 22 fractional bits. */
const PRECISION = 22;

/** One axis of Pillow's convolution resampling: per output position, the first input and integer weights. */
function pilCoefficients(inSize: number, outSize: number, filter: PilFilter): { first: Int32Array; weights: Int32Array[] } {
  const { support: radius, f } = PIL_FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = radius * filterScale;
  const first = new Int32Array(outSize);
  const weights: Int32Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    const k = Array.from({ length: hi - lo }, (_, i) => f((i + lo - centre + 0.5) / filterScale));
    const total = k.reduce((a, b) => a + b, 0);
    first[o] = lo;
    weights.push(Int32Array.from(k, (w) => Math.trunc((w / total) * 2 ** PRECISION + (w < 0 ? -0.5 : 0.5))));
  }
  return { first, weights };
}

/**
 * An 8-bit channels-last image resized as Pillow's Image.resize does (what Hugging Face's image processors run):
 * antialiased convolution, width first, each pass rounded to 0–255 in Pillow's fixed point, so that the pixels
 * equal the processor's and not only resemble them.
 */
export function resizeLikePillow(src: Uint8Array, h: number, w: number, channels: number, outH: number, outW: number, filter: PilFilter): Uint8Array {
  const pass = (img: Uint8Array, rows: number, inLen: number, outLen: number, horizontal: boolean, cols: number): Uint8Array => {
    const { first, weights } = pilCoefficients(inLen, outLen, filter);
    const out = new Uint8Array(horizontal ? rows * outLen * channels : outLen * cols * channels);
    const round = 2 ** (PRECISION - 1);
    for (let o = 0; o < outLen; o++) {
      const k = weights[o];
      const lo = first[o];
      const lines = horizontal ? rows : cols;
      for (let l = 0; l < lines; l++)
        for (let c = 0; c < channels; c++) {
          let acc = round;
          for (let i = 0; i < k.length; i++) {
            const at = horizontal ? (l * inLen + lo + i) * channels + c : ((lo + i) * cols + l) * channels + c;
            acc += img[at] * k[i];
          }
          const v = Math.floor(acc / 2 ** PRECISION);
          out[horizontal ? (l * outLen + o) * channels + c : (o * cols + l) * channels + c] = Math.min(Math.max(v, 0), 255);
        }
    }
    return out;
  };
  const wide = w === outW ? src : pass(src, h, w, outW, true, 0);
  return h === outH ? wide : pass(wide, 0, h, outH, false, outW);
}
