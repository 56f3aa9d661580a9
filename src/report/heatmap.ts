// A Grad-CAM map drawn over the image it explains: the map upsampled to the image, normalised to its maximum,
// coloured with the jet palette and blended half and half with the picture.
import { resizeBilinear } from '../data/resize.js';

/** Matplotlib's jet, piecewise linear: blue, cyan, yellow, red. */
function jet(t: number): [number, number, number] {
  const c = (x: number) => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

/**
 * RGB bytes: `image` (0–255, height × width × 1 or 3 channels) under the map (mapHeight × mapWidth), the
 * map's weight growing with its value (0.25 at zero, 0.6 at the peak) so cold regions show the image.
 */
export function overlayHeatmap(
  image: Float32Array,
  height: number,
  width: number,
  channels: number,
  map: Float32Array,
  mapHeight: number,
  mapWidth: number,
): Buffer {
  const up = resizeBilinear(map, mapHeight, mapWidth, 1, height, width);
  const max = up.reduce((m, v) => Math.max(m, v), 0) || 1;
  const out = Buffer.alloc(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    const t = up[p] / max;
    const colour = jet(t);
    const a = 0.25 + 0.35 * t;
    for (let k = 0; k < 3; k++) {
      const v = image[p * channels + (channels === 3 ? k : 0)];
      out[p * 3 + k] = Math.round((1 - a) * v + a * colour[k]);
    }
  }
  return out;
}
