// Keras's random preprocessing layers (RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
// RandomContrast) for training batches: one affine map per image, sampled bilinearly with reflected edges
// (Keras's defaults), drawn from a seeded generator so a run can be repeated.
import { tf } from '../tfjs.js';
import { TransferkitError } from '../errors.js';

/** Keras's random preprocessing layers as options: flip, rotation, zoom, translation, contrast. */
export interface AugmentSpec {
  flip?: 'horizontal' | 'vertical' | 'horizontal_and_vertical';
  /** Fraction of a full turn, as Keras's RandomRotation factor: angles in ±rotation·2π. */
  rotation?: number;
  /** Zoom in or out by up to this fraction. */
  zoom?: number;
  /** Shift by up to this fraction of the height and width. */
  translation?: number;
  /** Contrast factor drawn from [1 − contrast, 1 + contrast]. */
  contrast?: number;
}

/** What `--augment` with no value turns on: flips, small rotations and zooms. */
export const DEFAULT_AUGMENT: AugmentSpec = { flip: 'horizontal', rotation: 0.1, zoom: 0.1 };

/** Parses `flip[:horizontal|vertical|both], rotation:F, zoom:F, translation:F, contrast:F`. */
export function parseAugmentSpec(text: string): AugmentSpec {
  const spec: AugmentSpec = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, arg] = part.split(':').map((s) => s.trim());
    if (name === 'flip') {
      const mode = arg ?? 'horizontal';
      const flips = { horizontal: 'horizontal', vertical: 'vertical', both: 'horizontal_and_vertical' } as const;
      if (!(mode in flips)) throw new TransferkitError(`augment: flip takes horizontal, vertical or both; got '${mode}'`);
      spec.flip = flips[mode as keyof typeof flips];
      continue;
    }
    if (!['rotation', 'zoom', 'translation', 'contrast'].includes(name)) {
      throw new TransferkitError(`augment: unknown transform '${name}'; use flip, rotation:F, zoom:F, translation:F, contrast:F`);
    }
    const value = Number(arg);
    if (arg === undefined || !(value > 0 && value < 1))
      throw new TransferkitError(`augment: ${name} needs a fraction in (0, 1), e.g. ${name}:0.1; got '${part}'`);
    spec[name as 'rotation' | 'zoom' | 'translation' | 'contrast'] = value;
  }
  if (Object.keys(spec).length === 0) throw new TransferkitError(`augment: no transform in '${text}'`);
  return spec;
}

export function describeAugment(spec: AugmentSpec): string {
  return Object.entries(spec)
    .map(([k, v]) => (k === 'flip' ? `flip:${v}` : `${k}:${v}`))
    .join(', ');
}

type Mat = [number, number, number, number, number, number, number, number, number];
const mul = (a: Mat, b: Mat): Mat => {
  const r = new Array<number>(9) as Mat;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) r[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  return r;
};
const translate = (x: number, y: number): Mat => [1, 0, x, 0, 1, y, 0, 0, 1];

/**
 * The output→input pixel map of one image (tf.image.transform's convention): about the centre, flip, rotate,
 * scale, then shift.
 */
function drawTransform(spec: AugmentSpec, height: number, width: number, random: () => number): Mat {
  const u = () => random() * 2 - 1;
  const [cx, cy] = [(width - 1) / 2, (height - 1) / 2];
  const flipX = (spec.flip === 'horizontal' || spec.flip === 'horizontal_and_vertical') && random() < 0.5 ? -1 : 1;
  const flipY = (spec.flip === 'vertical' || spec.flip === 'horizontal_and_vertical') && random() < 0.5 ? -1 : 1;
  const angle = spec.rotation ? u() * spec.rotation * 2 * Math.PI : 0;
  const scale = spec.zoom ? 1 + u() * spec.zoom : 1;
  const [tx, ty] = spec.translation ? [u() * spec.translation * width, u() * spec.translation * height] : [0, 0];
  const [c, s] = [Math.cos(angle) * scale, Math.sin(angle) * scale];
  const linear: Mat = [c * flipX, -s * flipY, 0, s * flipX, c * flipY, 0, 0, 0, 1];
  return mul(translate(cx - tx, cy - ty), mul(linear, translate(-cx, -cy)));
}

/**
 * Augments a batch of n images (channels last, pixel values 0–255, before the base's preprocessing): returns
 * new pixels, one random draw per image.
 */
export function augmentBatch(pixels: Float32Array, shape: [number, number, number, number], spec: AugmentSpec, random: () => number): Float32Array {
  const [n, height, width] = shape;
  const transforms = Array.from({ length: n }, () => drawTransform(spec, height, width, random).slice(0, 8));
  const contrasts = Array.from({ length: n }, () => (spec.contrast ? 1 + (random() * 2 - 1) * spec.contrast : 1));
  const out = tf.tidy(() => {
    let x: tf.Tensor = tf.image.transform(tf.tensor4d(pixels, shape), tf.tensor2d(transforms.flat(), [n, 8]), 'bilinear', 'reflect');
    if (spec.contrast) {
      const mean = tf.mean(x, [1, 2], true);
      x = tf.clipByValue(tf.add(tf.mul(tf.sub(x, mean), tf.tensor4d(contrasts, [n, 1, 1, 1])), mean), 0, 255);
    }
    return x;
  });
  try {
    return Float32Array.from(out.dataSync());
  } finally {
    out.dispose();
  }
}
