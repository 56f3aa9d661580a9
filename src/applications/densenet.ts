// DenseNet121/169/201 (Huang et al., 2017): dense blocks that concatenate every layer's output onto its input,
// with compressing transitions between them, as keras.applications builds them.
import { tfl } from '../tfjs.js';
import { kerasTopAndNotop } from '../weights/remote.js';
import { type ApplicationSpec, type BuildContext, type Sym, buildApplication, call, conv2d, poolAndClassify, poolFeatures } from './common.js';
import type { ApplicationArgs } from './inputs.js';

const EPS = 1.001e-5;
const GROWTH_RATE = 32;
const bn = (name: string) => tfl.layers.batchNormalization({ axis: 3, epsilon: EPS, name });
const relu = (name: string) => tfl.layers.activation({ activation: 'relu', name });

interface DenseNetSpec extends ApplicationSpec {
  /** Conv blocks in each of the four dense blocks. */
  blocks: [number, number, number, number];
}

/** `convN_blockB` per conv block, `poolN` per transition, the stem, and the final `bn`/`relu`. */
const denseNetBlock = (n: string) => /^(conv\d_block\d+|conv1|pool\d)(_|$)/.exec(n)?.[1] ?? (n === 'bn' || n === 'relu' ? 'post' : null);

function denseNetSpec(depth: 121 | 169 | 201, blocks: DenseNetSpec['blocks'], md5: [string, string], params: [number, number]): DenseNetSpec {
  const id = `densenet${depth}`;
  return {
    id,
    name: `DenseNet${depth}`,
    defaultSize: 224,
    minSize: 32,
    preprocessing: 'torch',
    weights: kerasTopAndNotop(id, 'densenet', `${id}_weights_tf_dim_ordering_tf_kernels`, md5, params),
    blockOf: denseNetBlock,
    blocks,
  };
}

// Hashes from keras/src/applications/densenet.py; parameter counts from Keras 3.15's count_params().
export const DENSENET121 = denseNetSpec(121, [6, 12, 24, 16], ['9d60b8095a5708f2dcce2bca79d332c7', '30ee3e1110167f948a6b9946edeeb738'], [8_062_504, 7_037_504]);
export const DENSENET169 = denseNetSpec(
  169,
  [6, 12, 32, 32],
  ['d699b8f76981ab1b30698df4c175e90b', 'b8c4d4c20dd625c148057b9ff1c1176b'],
  [14_307_880, 12_642_880],
);
export const DENSENET201 = denseNetSpec(
  201,
  [6, 12, 48, 32],
  ['1ceb130c1ea1b78c3bf6114dbdfd8807', 'c13680b51ded0fb44dff2d8f86ac8bb1'],
  [20_242_984, 18_321_984],
);

/** Keras's `conv_block`: BN-ReLU-1×1 (4×growth) then BN-ReLU-3×3 (growth), concatenated onto the input. */
function convBlock(x: Sym, name: string): Sym {
  let y = call(relu(`${name}_0_relu`), call(bn(`${name}_0_bn`), x));
  y = call(conv2d({ filters: 4 * GROWTH_RATE, kernelSize: 1, useBias: false, name: `${name}_1_conv` }), y);
  y = call(relu(`${name}_1_relu`), call(bn(`${name}_1_bn`), y));
  y = call(conv2d({ filters: GROWTH_RATE, kernelSize: 3, padding: 'same', useBias: false, name: `${name}_2_conv` }), y);
  return call(tfl.layers.concatenate({ axis: 3, name: `${name}_concat` }), [x, y]);
}

/** Keras's `transition_block`: BN-ReLU-1×1 halving the channels, then 2×2 average pooling. */
function transitionBlock(x: Sym, name: string): Sym {
  const channels = x.shape[3] as number;
  x = call(relu(`${name}_relu`), call(bn(`${name}_bn`), x));
  x = call(conv2d({ filters: Math.trunc(channels * 0.5), kernelSize: 1, useBias: false, name: `${name}_conv` }), x);
  return call(tfl.layers.averagePooling2d({ poolSize: 2, strides: 2, name: `${name}_pool` }), x);
}

function graph(ctx: BuildContext, spec: DenseNetSpec): Sym {
  let x = call(
    tfl.layers.zeroPadding2d({
      padding: [
        [3, 3],
        [3, 3],
      ],
      name: ctx.names.next('zero_padding2d'),
    }),
    ctx.input,
  );
  x = call(conv2d({ filters: 64, kernelSize: 7, strides: 2, useBias: false, name: 'conv1_conv' }), x);
  x = call(relu('conv1_relu'), call(bn('conv1_bn'), x));
  x = call(
    tfl.layers.zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: ctx.names.next('zero_padding2d'),
    }),
    x,
  );
  x = call(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1' }), x);
  spec.blocks.forEach((blocks, i) => {
    for (let b = 1; b <= blocks; b++) x = convBlock(x, `conv${i + 2}_block${b}`);
    if (i < 3) x = transitionBlock(x, `pool${i + 2}`);
  });
  x = call(relu('relu'), call(bn('bn'), x));
  if (!ctx.args.includeTop) return poolFeatures(x, ctx, { avg: 'avg_pool', max: 'max_pool' });
  return poolAndClassify(x, ctx, { poolName: 'avg_pool' });
}

const builder =
  (spec: DenseNetSpec) =>
  (args: ApplicationArgs = {}) =>
    buildApplication(spec, args, (ctx) => graph(ctx, spec));

/** keras.applications.DenseNet121, DenseNet169 and DenseNet201. */
export const densenet121 = builder(DENSENET121);
/** keras.applications.DenseNet169. */
export const densenet169 = builder(DENSENET169);
/** keras.applications.DenseNet201. */
export const densenet201 = builder(DENSENET201);
