// ResNet50 (He et al., 2015) and ResNet50V2 (He et al., 2016, pre-activation), as keras.applications builds them.
import * as tfl from '@tensorflow/tfjs-layers';
import { kerasTopAndNotop } from '../weights/remote.js';
import { type ApplicationSpec, type BuildContext, type Sym, buildApplication, call, conv2d, poolAndClassify, poolFeatures } from './common.js';
import type { ApplicationArgs } from './inputs.js';

const EPS = 1.001e-5;
const bn = (name: string) => tfl.layers.batchNormalization({ axis: 3, epsilon: EPS, name });
const relu = (name: string) => tfl.layers.activation({ activation: 'relu', name });

/** Stem, then `convS_blockB` per bottleneck block, then the v2 post-activation. */
const resnetBlock = (n: string) => /^(conv\d_block\d+|conv1|pool1|post)_/.exec(n)?.[1] ?? null;

/** ResNet50 or ResNet50V2: Keras's files sit together under `resnet/`. */
function resnetSpec(id: 'resnet50' | 'resnet50v2', name: string, md5: [string, string], params: [number, number]): ApplicationSpec {
  return {
    id,
    name,
    defaultSize: 224,
    minSize: 32,
    // v1 was trained on Caffe-style BGR inputs, v2 on [-1, 1].
    preprocessing: id === 'resnet50' ? 'caffe' : 'tf',
    weights: kerasTopAndNotop(id, 'resnet', `${id}_weights_tf_dim_ordering_tf_kernels`, md5, params),
    blockOf: resnetBlock,
  };
}

export const RESNET50 = resnetSpec('resnet50', 'ResNet50', ['2cb95161c43110f7111970584f804107', '4d473c1dd8becc155b73f8504c6f6626'], [25_636_712, 23_587_712]);
export const RESNET50V2 = resnetSpec('resnet50v2', 'ResNet50V2', ['3ef43a0b657b3be2300d5770ece849e0', 'fac2f116257151a9d068a22e544a4917'], [25_613_800, 23_564_800]);

/** Bottleneck block v1: 1×1 → 3×3 → 1×1 (4× filters), BN after each conv, ReLU after the sum. */
function blockV1(x: Sym, filters: number, stride: number, convShortcut: boolean, name: string): Sym {
  const shortcut = convShortcut ? call(bn(`${name}_0_bn`), call(conv2d({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` }), x)) : x;
  let y = call(conv2d({ filters, kernelSize: 1, strides: stride, name: `${name}_1_conv` }), x);
  y = call(relu(`${name}_1_relu`), call(bn(`${name}_1_bn`), y));
  y = call(conv2d({ filters, kernelSize: 3, padding: 'same', name: `${name}_2_conv` }), y);
  y = call(relu(`${name}_2_relu`), call(bn(`${name}_2_bn`), y));
  y = call(bn(`${name}_3_bn`), call(conv2d({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` }), y));
  return call(relu(`${name}_out`), call(tfl.layers.add({ name: `${name}_add` }), [shortcut, y]));
}

/** Bottleneck block v2: BN + ReLU first (pre-activation); the stride sits in the stack's last block. */
function blockV2(x: Sym, filters: number, stride: number, convShortcut: boolean, name: string, ctx: BuildContext): Sym {
  const preact = call(relu(`${name}_preact_relu`), call(bn(`${name}_preact_bn`), x));
  let shortcut = x;
  if (convShortcut) shortcut = call(conv2d({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` }), preact);
  else if (stride > 1) shortcut = call(tfl.layers.maxPooling2d({ poolSize: 1, strides: stride, name: ctx.names.next('max_pooling2d') }), x);
  let y = call(conv2d({ filters, kernelSize: 1, useBias: false, name: `${name}_1_conv` }), preact);
  y = call(relu(`${name}_1_relu`), call(bn(`${name}_1_bn`), y));
  y = call(tfl.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: `${name}_2_pad` }), y);
  y = call(conv2d({ filters, kernelSize: 3, strides: stride, useBias: false, name: `${name}_2_conv` }), y);
  y = call(relu(`${name}_2_relu`), call(bn(`${name}_2_bn`), y));
  y = call(conv2d({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` }), y);
  return call(tfl.layers.add({ name: `${name}_out` }), [shortcut, y]);
}

/** [stage name, bottleneck filters, blocks, stride of the stage] for ResNet50. */
const STAGES: Array<[string, number, number, number]> = [
  ['conv2', 64, 3, 1],
  ['conv3', 128, 4, 2],
  ['conv4', 256, 6, 2],
  ['conv5', 512, 3, 2],
];

function resnetGraph(ctx: BuildContext, preact: boolean): Sym {
  let x = call(tfl.layers.zeroPadding2d({ padding: [[3, 3], [3, 3]], name: 'conv1_pad' }), ctx.input);
  x = call(conv2d({ filters: 64, kernelSize: 7, strides: 2, name: 'conv1_conv' }), x);
  if (!preact) x = call(relu('conv1_relu'), call(bn('conv1_bn'), x));
  x = call(tfl.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: 'pool1_pad' }), x);
  x = call(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }), x);
  for (const [stage, filters, blocks, stride] of STAGES) {
    for (let b = 1; b <= blocks; b++) {
      const name = `${stage}_block${b}`;
      if (!preact) x = blockV1(x, filters, b === 1 ? stride : 1, b === 1, name);
      // v2 strides in the last block of each stage, and conv5 not at all.
      else x = blockV2(x, filters, b === blocks && stage !== 'conv5' ? 2 : 1, b === 1, name, ctx);
    }
  }
  if (preact) x = call(tfl.layers.activation({ activation: 'relu', name: 'post_relu' }), call(bn('post_bn'), x));
  if (!ctx.args.includeTop) return poolFeatures(x, ctx, { avg: 'avg_pool', max: 'max_pool' });
  return poolAndClassify(x, ctx, { poolName: 'avg_pool' });
}

/** keras.applications.ResNet50. */
export function resnet50(args: ApplicationArgs = {}): Promise<tfl.LayersModel> {
  return buildApplication(RESNET50, args, (ctx) => resnetGraph(ctx, false));
}

/** keras.applications.ResNet50V2. */
export function resnet50v2(args: ApplicationArgs = {}): Promise<tfl.LayersModel> {
  return buildApplication(RESNET50V2, args, (ctx) => resnetGraph(ctx, true));
}
