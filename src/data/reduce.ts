// libvips's linear reduction, reproduced in plain arithmetic: what sharp's
// `resize(width, height, { fit: 'fill', kernel: 'linear' })` does to pixels when a side shrinks (vips_resize with
// its default gap of 2: per axis an integer box shrink (vips_shrinkh/v, "ceil"), then vips_reducev and
// vips_reduceh with triangle masks in 12-bit fixed point). The page decodes photos at their own size and shrinks
// them with this, so that its pixels are Node's: checked against sharp 0.35 (libvips 8.18) on the hymenoptera
// photos' own pixels, equal at 224×224 and to within 1 (2 at worst, 14 of 398 photos) at 96×96.
// Not reproduced: for a JPEG at least twice the target size on its shorter side, sharp lets libjpeg decode at
// 1/2, 1/4 or 1/8 scale (shrink-on-load: the DCT itself scaled), which no function of the fully decoded pixels
// gives; a box average of them was further from it than this reduction of them (docs/browser.md, the numbers).

/** 8-bit channels-last pixels. */
interface Plane {
  data: Uint8Array;
  h: number;
  w: number;
  c: number;
}

/**
 * vips_shrinkh with ceil: boxes of `k` columns averaged as libvips's SIMD path does (sum + k/2 times ⌊2³² / 256k⌋,
 * then the top 8 bits: not always (sum + k/2) / k), the last box filled by copying the edge.
 */
function shrinkh(img: Plane, k: number): Plane {
  const { data, h, w, c } = img;
  const ow = Math.ceil(w / k);
  const out = new Uint8Array(h * ow * c);
  const multiplier = Math.floor(2 ** 32 / (256 * k));
  for (let y = 0; y < h; y++)
    for (let o = 0; o < ow; o++)
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let i = 0; i < k; i++) sum += data[(y * w + Math.min(o * k + i, w - 1)) * c + ch];
        out[(y * ow + o) * c + ch] = Math.floor(((sum + (k >> 1)) * multiplier) / 2 ** 24);
      }
  return { data: out, h, w: ow, c };
}

/**
 * vips_reduceh with the linear kernel: a triangle of radius `shrink` over 2 · rint(shrink) + 1 taps (edges copied),
 * its phase quantized to 1/64 pixel and its weights truncated to 12 bits, as libvips tabulates them.
 */
function reduceh(img: Plane, shrink: number, width: number, extra: number): Plane {
  const { data, h, w, c } = img;
  const half = Math.round(shrink);
  const n = 2 * half + 1;
  const hoffset = (1 + extra) / 2 - 1;
  const out = new Uint8Array(h * width * c);
  const weights = new Int32Array(n);
  const at = new Int32Array(n);
  let X = 0.5 * shrink - 0.5 - hoffset;
  for (let o = 0; o < width; o++, X += shrink) {
    const ix = Math.trunc(X);
    const x = (((Math.trunc(X * 128) & 127) + 1) >> 1) / 64;
    const centre = x + n / 2 - 1;
    let total = 0;
    const k: number[] = [];
    for (let i = 0; i < n; i++) {
      k.push(Math.max(0, 1 - Math.abs((i - centre) / shrink)));
      total += k[i];
      at[i] = Math.min(Math.max(ix + i - half, 0), w - 1) * c;
    }
    for (let i = 0; i < n; i++) weights[i] = Math.trunc((k[i] / total) * 4096);
    for (let y = 0; y < h; y++)
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += weights[i] * data[y * w * c + at[i] + ch];
        out[(y * width + o) * c + ch] = Math.min(Math.max((sum + 2048) >> 12, 0), 255);
      }
  }
  return { data: out, h, w: width, c };
}

/** Rows become columns: the vertical passes run as horizontal ones. */
function transpose(img: Plane): Plane {
  const { data, h, w, c } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) out[(x * h + y) * c + ch] = data[(y * w + x) * c + ch];
  return { data: out, h: w, w: h, c };
}

/**
 * One axis of vips_resize (vips_reducev/h with their gap of 2): the integer part as a box shrink, leaving at
 * least 2× to the reduce, then the rest reduced.
 */
function resizeAxis(img: Plane, scale: number): Plane {
  let shrink = 1 / scale;
  if (shrink <= 1) return img;
  const width = Math.round(img.w / shrink);
  let extra = width * shrink - img.w;
  const k = Math.max(1, Math.floor(img.w / width / 2));
  let src = img;
  if (k > 1) {
    src = shrinkh(img, k);
    shrink /= k;
    extra /= k;
  }
  return shrink === 1 ? src : reduceh(src, shrink, width, extra);
}

/** 8-bit RGB pixels (w × h × 3) at height × width, 0–255 float32, as sharp resizes them with the linear kernel; both sides shrink or stay. */
export function reduceRgbLikeVips(rgb: Uint8Array, w: number, h: number, height: number, width: number): Float32Array {
  const img: Plane = { data: rgb, h, w, c: 3 };
  // sharp passes 1 / (w / width) as the scale; vips_resize reduces vertically first. Each pass rounds to 8 bits,
  // so the order is part of the result.
  const vertical = transpose(resizeAxis(transpose(img), 1 / (img.h / height)));
  return Float32Array.from(resizeAxis(vertical, 1 / (vertical.w / width)).data);
}
