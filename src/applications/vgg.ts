// VGG16 and VGG19 (Simonyan & Zisserman, 2014), layer for layer as keras.applications builds them.
import { tfl } from '../tfjs.js';
import { type ApplicationSpec, type BuildContext, activationName, buildApplication, conv2d, dense, poolFeatures } from './common.js';
import { kerasTopAndNotop } from '../weights/remote.js';
import type { ApplicationArgs } from './inputs.js';

type Sym = tfl.SymbolicTensor;

/** Filters of the five blocks; every conv is 3×3 'same' + ReLU, every block ends in a 2×2 max pool. */
const BLOCK_FILTERS = [64, 128, 256, 512, 512];

/** Convs per block: the one difference between the two depths. */
const DEPTHS = { vgg16: [2, 2, 3, 3, 3], vgg19: [2, 2, 4, 4, 4] } as const;

/** A VGG depth: Keras's two published files and their counts. */
function vggSpec(id: 'vgg16' | 'vgg19', md5: [string, string], params: [number, number]): ApplicationSpec {
  const weights = kerasTopAndNotop(id, id, `${id}_weights_tf_dim_ordering_tf_kernels`, md5, params);
  return { id, name: id.toUpperCase(), defaultSize: 224, minSize: 32, preprocessing: 'caffe', weights, blockOf: (n) => /^block\d+/.exec(n)?.[0] ?? null };
}

export const VGG16 = vggSpec('vgg16', ['64373286793e3c8b2b4e3219cbf3544b', '6d6bbae143d832006294945121d1f1fc'], [138_357_544, 14_714_688]);

export const VGG19 = vggSpec('vgg19', ['cbe5617147190e668d6c5d5026f83318', '253f8cb515780f3b799900260a226db6'], [143_667_240, 20_024_384]);

function vggGraph(depths: readonly number[], ctx: BuildContext): Sym {
  let x = ctx.input;
  depths.forEach((convs, b) => {
    for (let c = 1; c <= convs; c++) {
      x = conv2d({ filters: BLOCK_FILTERS[b], kernelSize: 3, padding: 'same', activation: 'relu', name: `block${b + 1}_conv${c}` }).apply(x) as Sym;
    }
    x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }).apply(x) as Sym;
  });
  if (!ctx.args.includeTop) return poolFeatures(x, ctx);
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as Sym;
  const fc = (units: number, activation: string | null, name: string) => dense({ units, activation: activationName(activation), name });
  x = fc(4096, 'relu', 'fc1').apply(x) as Sym;
  x = fc(4096, 'relu', 'fc2').apply(x) as Sym;
  return fc(ctx.args.classes, ctx.args.classifierActivation, 'predictions').apply(x) as Sym;
}

/** keras.applications.VGG16. */
export function vgg16(args: ApplicationArgs = {}): Promise<tfl.LayersModel> {
  return buildApplication(VGG16, args, (ctx) => vggGraph(DEPTHS.vgg16, ctx));
}

/** keras.applications.VGG19. */
export function vgg19(args: ApplicationArgs = {}): Promise<tfl.LayersModel> {
  return buildApplication(VGG19, args, (ctx) => vggGraph(DEPTHS.vgg19, ctx));
}
