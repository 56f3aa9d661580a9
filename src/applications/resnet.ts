// ResNet50/101/152 (He et al., 2015) and their V2 (He et al., 2016, pre-activation), as keras.applications builds them.
import { tfl } from '../tfjs.js';
import { kerasTopAndNotop } from '../weights/remote.js';
import { type ApplicationSpec, type BuildContext, type Sym, buildApplication, call, conv2d, poolAndClassify, poolFeatures } from './common.js';
import type { ApplicationArgs } from './inputs.js';

const EPS = 1.001e-5;
const bn = (name: string) => tfl.layers.batchNormalization({ axis: 3, epsilon: EPS, name });
const relu = (name: string) => tfl.layers.activation({ activation: 'relu', name });

/** Stem, then `convS_blockB` per bottleneck block, then the v2 post-activation. */
const resnetBlock = (n: string) => /^(conv\d_block\d+|conv1|pool1|post)_/.exec(n)?.[1] ?? null;

type Depth = 50 | 101 | 152;

/** Blocks per stage (conv2…conv5) for each depth, as Keras's `stack_fn`s. */
const DEPTHS: Record<Depth, [number, number, number, number]> = { 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3] };

interface ResNetSpec extends ApplicationSpec {
  depth: Depth;
  v2: boolean;
}

/** One ResNet: Keras's files sit together under `resnet/`; `md5` and `params` are (top, no top). */
function resnetSpec(depth: Depth, v2: boolean, md5: [string, string], params: [number, number]): ResNetSpec {
  const id = `resnet${depth}${v2 ? 'v2' : ''}`;
  return {
    id,
    name: `ResNet${depth}${v2 ? 'V2' : ''}`,
    defaultSize: 224,
    minSize: 32,
    // v1 was trained on Caffe-style BGR inputs, v2 on [-1, 1].
    preprocessing: v2 ? 'tf' : 'caffe',
    weights: kerasTopAndNotop(id, 'resnet', `${id}_weights_tf_dim_ordering_tf_kernels`, md5, params),
    blockOf: resnetBlock,
    depth,
    v2,
  };
}

// Hashes from keras/src/applications/resnet.py's WEIGHTS_HASHES; parameter counts from Keras 3.15's count_params().
export const RESNET50 = resnetSpec(50, false, ['2cb95161c43110f7111970584f804107', '4d473c1dd8becc155b73f8504c6f6626'], [25_636_712, 23_587_712]);
export const RESNET101 = resnetSpec(101, false, ['f1aeb4b969a6efcfb50fad2f0c20cfc5', '88cf7a10940856eca736dc7b7e228a21'], [44_707_176, 42_658_176]);
export const RESNET152 = resnetSpec(152, false, ['100835be76be38e30d865e96f2aaae62', 'ee4c566cf9a93f14d82f913c2dc6dd0c'], [60_419_944, 58_370_944]);
export const RESNET50V2 = resnetSpec(50, true, ['3ef43a0b657b3be2300d5770ece849e0', 'fac2f116257151a9d068a22e544a4917'], [25_613_800, 23_564_800]);
export const RESNET101V2 = resnetSpec(101, true, ['6343647c601c52e1368623803854d971', 'c0ed64b8031c3730f411d2eb4eea35b5'], [44_675_560, 42_626_560]);
export const RESNET152V2 = resnetSpec(152, true, ['a49b44d1979771252814e80f8ec446f9', 'ed17cf2e0169df9d443503ef94b23b33'], [60_380_648, 58_331_648]);

/** Bottleneck block v1: 1×1 → 3×3 → 1×1 (4× filters), BN after each conv, ReLU after the sum. */
function blockV1(x: Sym, filters: number, stride: number, convShortcut: boolean, name: string): Sym {
  const shortcut = convShortcut
    ? call(bn(`${name}_0_bn`), call(conv2d({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` }), x))
    : x;
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
  y = call(
    tfl.layers.zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: `${name}_2_pad`,
    }),
    y,
  );
  y = call(conv2d({ filters, kernelSize: 3, strides: stride, useBias: false, name: `${name}_2_conv` }), y);
  y = call(relu(`${name}_2_relu`), call(bn(`${name}_2_bn`), y));
  y = call(conv2d({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` }), y);
  return call(tfl.layers.add({ name: `${name}_out` }), [shortcut, y]);
}

/** [stage name, bottleneck filters, stride of the stage]; the block counts come from the depth. */
const STAGES: Array<[string, number, number]> = [
  ['conv2', 64, 1],
  ['conv3', 128, 2],
  ['conv4', 256, 2],
  ['conv5', 512, 2],
];

function resnetGraph(ctx: BuildContext, spec: ResNetSpec): Sym {
  const preact = spec.v2;
  let x = call(
    tfl.layers.zeroPadding2d({
      padding: [
        [3, 3],
        [3, 3],
      ],
      name: 'conv1_pad',
    }),
    ctx.input,
  );
  x = call(conv2d({ filters: 64, kernelSize: 7, strides: 2, name: 'conv1_conv' }), x);
  if (!preact) x = call(relu('conv1_relu'), call(bn('conv1_bn'), x));
  x = call(
    tfl.layers.zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: 'pool1_pad',
    }),
    x,
  );
  x = call(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }), x);
  STAGES.forEach(([stage, filters, stride], i) => {
    const blocks = DEPTHS[spec.depth][i];
    for (let b = 1; b <= blocks; b++) {
      const name = `${stage}_block${b}`;
      if (!preact) x = blockV1(x, filters, b === 1 ? stride : 1, b === 1, name);
      // v2 strides in the last block of each stage, and conv5 not at all.
      else x = blockV2(x, filters, b === blocks && stage !== 'conv5' ? 2 : 1, b === 1, name, ctx);
    }
  });
  if (preact) x = call(tfl.layers.activation({ activation: 'relu', name: 'post_relu' }), call(bn('post_bn'), x));
  if (!ctx.args.includeTop) return poolFeatures(x, ctx, { avg: 'avg_pool', max: 'max_pool' });
  return poolAndClassify(x, ctx, { poolName: 'avg_pool' });
}

const builder =
  (spec: ResNetSpec) =>
  (args: ApplicationArgs = {}) =>
    buildApplication(spec, args, (ctx) => resnetGraph(ctx, spec));

/** keras.applications.ResNet50, ResNet101, ResNet152 and their V2. */
export const resnet50 = builder(RESNET50);
/** keras.applications.ResNet101. */
export const resnet101 = builder(RESNET101);
/** keras.applications.ResNet152. */
export const resnet152 = builder(RESNET152);
/** keras.applications.ResNet50V2. */
export const resnet50v2 = builder(RESNET50V2);
/** keras.applications.ResNet101V2. */
export const resnet101v2 = builder(RESNET101V2);
/** keras.applications.ResNet152V2. */
export const resnet152v2 = builder(RESNET152V2);
