// An RGB-pretrained base for rasters of other band counts, by an explicit choice (TorchGeo shows what silent
// tiling of RGB weights across bands does): the first convolution gets one kernel slice per band.
import { tf } from '../tfjs.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { BandRole } from '../data/bands.js';
import { TransferkitError } from '../errors.js';
import { DEFAULT_SEED } from '../util/defaults.js';
import { seededRandom } from '../util/random.js';
import type { ApplicationArgs } from './inputs.js';
import { getApplication } from './index.js';

export const BAND_ADAPTATIONS = ['rgb', 'repeat-mean', 'random'] as const;
export type BandAdaptation = (typeof BAND_ADAPTATIONS)[number];

/** The base's first layer with weights: it must be the convolution that sees the image. */
function firstConv(model: tfl.LayersModel): tfl.layers.Layer {
  const first = model.layers.find((l) => l.weights.length > 0);
  if (first?.getClassName() !== 'Conv2D' || (first.getWeights()[0].shape[2] as number) !== 3) {
    throw new TransferkitError(
      `band adaptation needs a base whose first weighted layer is a convolution over the image (vgg16/19, resnet50, inception_v3, xception, mobilenet, mobilenet_v2); ${model.name} starts with ${first?.name ?? 'no weights'}`,
    );
  }
  return first;
}

/**
 * The base built for `roles.length` bands: each red/green/blue band gets its ImageNet kernel slice (in the
 * base's own channel order: caffe bases see BGR), other bands the mean of the three scaled by 3/bands so
 * activations keep their size (`repeat-mean`), or random values of the same spread with RGB kept (`random`).
 * `rgb` takes exactly the three colour bands. Returns the base and the name of its first convolution.
 */
export async function buildBandBase(
  id: string,
  args: ApplicationArgs & Record<string, unknown>,
  roles: BandRole[],
  mode: BandAdaptation,
  seed = DEFAULT_SEED,
): Promise<{ base: tfl.LayersModel; firstConv: string }> {
  const app = getApplication(id);
  const [h, w] = (args.inputShape ?? [app.spec.defaultSize, app.spec.defaultSize, 3]) as number[];
  const colours = [0, 1, 2].map((r) => roles.indexOf(r as BandRole));
  // One band of no colour with repeat-mean is a grayscale base: its kernel is the sum of the RGB kernels.
  const gray = roles.length === 1 && roles[0] === -1 && mode === 'repeat-mean';
  if (!gray && (colours.some((i) => i < 0) || roles.filter((r) => r >= 0).length !== 3)) {
    throw new TransferkitError(`band adaptation needs the red, green and blue bands among the chosen ones, once each; got roles ${JSON.stringify(roles)}`);
  }
  if (mode === 'rgb' && roles.length !== 3) {
    throw new TransferkitError(
      `--band-adaptation rgb takes exactly three bands (red, green, blue); ${roles.length} were chosen: pick three with --bands, or use repeat-mean or random`,
    );
  }
  const rgb = await app.build({ ...args, inputShape: [h, w, 3] });
  const conv = firstConv(rgb);
  // Channel of the pretrained kernel that each colour feeds: caffe bases take BGR.
  const modelChannel = (r: number) => (app.spec.preprocessing === 'caffe' ? 2 - r : r);
  if (mode === 'rgb' && roles.every((r, i) => modelChannel(r) === i)) return { base: rgb, firstConv: conv.name };

  const bands = roles.length;
  const base = await app.build({ ...args, weights: null, inputShape: [h, w, bands] });
  const random = seededRandom(seed);
  for (const layer of base.layers) {
    if (!layer.weights.length) continue;
    const source = rgb.getLayer(layer.name);
    if (layer.name !== conv.name) {
      layer.setWeights(source.getWeights());
      continue;
    }
    const [kernel, ...rest] = source.getWeights();
    const [kh, kw, , filters] = kernel.shape as number[];
    const k3 = kernel.dataSync();
    const slice = (ch: number) => Float32Array.from({ length: kh * kw * filters }, (_, i) => k3[(Math.floor(i / filters) * 3 + ch) * filters + (i % filters)]);
    const slices = [0, 1, 2].map((r) => slice(modelChannel(r)));
    const mean = slices[0].map((_, i) => (slices[0][i] + slices[1][i] + slices[2][i]) / 3);
    const std = Math.sqrt(slices.flatMap((s) => Array.from(s)).reduce((a, v) => a + v * v, 0) / (3 * mean.length));
    const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const scale = mode === 'repeat-mean' ? 3 / bands : 1;
    const out = new Float32Array(kh * kw * bands * filters);
    roles.forEach((r, band) => {
      const values = r >= 0 ? slices[r] : mode === 'random' ? mean.map(() => gauss() * std) : mean;
      values.forEach((v, i) => (out[(Math.floor(i / filters) * bands + band) * filters + (i % filters)] = v * scale));
    });
    const adapted = tf.tensor4d(out, [kh, kw, bands, filters]);
    layer.setWeights([adapted, ...rest]);
    adapted.dispose();
  }
  rgb.dispose();
  return { base, firstConv: conv.name };
}
