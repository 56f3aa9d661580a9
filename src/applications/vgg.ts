// VGG16 and VGG19 (Simonyan & Zisserman, 2014), layer for layer as keras.applications builds them.
import * as tfl from '@tensorflow/tfjs-layers';
import { type ApplicationSpec, type BuildContext, activationName, buildApplication, poolFeatures } from './common.js';
import type { ApplicationArgs } from './inputs.js';

type Sym = tfl.SymbolicTensor;

/** Filters of the five blocks; every conv is 3×3 'same' + ReLU, every block ends in a 2×2 max pool. */
const BLOCK_FILTERS = [64, 128, 256, 512, 512];

/** Convs per block: the one difference between the two depths. */
const DEPTHS = { vgg16: [2, 2, 3, 3, 3], vgg19: [2, 2, 4, 4, 4] } as const;

export const VGG16: ApplicationSpec = { id: 'vgg16', name: 'VGG16', defaultSize: 224, minSize: 32, preprocessing: 'caffe' };
export const VGG19: ApplicationSpec = { id: 'vgg19', name: 'VGG19', defaultSize: 224, minSize: 32, preprocessing: 'caffe' };

function vggGraph(depths: readonly number[], ctx: BuildContext): Sym {
  let x = ctx.input;
  depths.forEach((convs, b) => {
    for (let c = 1; c <= convs; c++) {
      x = tfl.layers
        .conv2d({
          filters: BLOCK_FILTERS[b],
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: 'glorotUniform',
          name: `block${b + 1}_conv${c}`,
        })
        .apply(x) as Sym;
    }
    x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }).apply(x) as Sym;
  });
  if (!ctx.args.includeTop) return poolFeatures(x, ctx);
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as Sym;
  const dense = (units: number, activation: string | null, name: string) =>
    tfl.layers.dense({ units, activation: activationName(activation), kernelInitializer: 'glorotUniform', name });
  x = dense(4096, 'relu', 'fc1').apply(x) as Sym;
  x = dense(4096, 'relu', 'fc2').apply(x) as Sym;
  return dense(ctx.args.classes, ctx.args.classifierActivation, 'predictions').apply(x) as Sym;
}

/** keras.applications.VGG16. */
export function vgg16(args: ApplicationArgs = {}): Promise<tfl.LayersModel> {
  return buildApplication(VGG16, args, (ctx) => vggGraph(DEPTHS.vgg16, ctx));
}

/** keras.applications.VGG19. */
export function vgg19(args: ApplicationArgs = {}): Promise<tfl.LayersModel> {
  return buildApplication(VGG19, args, (ctx) => vggGraph(DEPTHS.vgg19, ctx));
}
