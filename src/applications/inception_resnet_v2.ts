// Inception-ResNet v2 (Szegedy et al., 2016): inception modules whose output is added back to their input,
// scaled (Keras's CustomScaleLayer), as keras.applications builds it. Its branch convolutions are unnamed in
// Keras, so they take Keras's automatic names (conv2d, batch_normalization, activation, …), in Keras's order.
import { tfl } from '../tfjs.js';
import { kerasTopAndNotop } from '../weights/remote.js';
import { type ApplicationSpec, type BuildContext, type Sym, buildApplication, call, conv2d, poolAndClassify, poolFeatures } from './common.js';
import type { ApplicationArgs } from './inputs.js';
import { CustomScaleLayer } from './layers.js';

export const INCEPTION_RESNET_V2: ApplicationSpec = {
  id: 'inception_resnet_v2',
  name: 'InceptionResNetV2',
  defaultSize: 299,
  minSize: 75,
  preprocessing: 'tf',
  // md5s from keras/src/applications/inception_resnet_v2.py; parameter counts from Keras 3.15's count_params().
  weights: kerasTopAndNotop(
    'inception_resnet_v2',
    'inception_resnet_v2',
    'inception_resnet_v2_weights_tf_dim_ordering_tf_kernels',
    ['e693bd0210a403b3192acc6073ad2e96', 'd19885ff4a710c122648d3b5c3b684e4'],
    [55_873_736, 54_336_736],
  ),
  // A block ends at its named last layer: the reductions' `mixed_*` concatenations, each residual block's `_ac`
  // (its `_conv` for the last, which has no activation), and the final `conv_7b_ac`.
  blockOf: (n) =>
    /^mixed_(5b|6a|7a)$/.exec(n)?.[0] ?? /^(block\d+_\d+)_ac$/.exec(n)?.[1] ?? (n === 'block8_10_conv' ? 'block8_10' : n === 'conv_7b_ac' ? 'conv_7b' : null),
  blockNamedAtEnd: true,
};

type Kernel = number | [number, number];

function graph(ctx: BuildContext): Sym {
  const { names } = ctx;
  /** Keras's `conv2d_bn`: conv (bias only where no BN follows) → BN without scale → activation. */
  const convBn = (
    x: Sym,
    filters: number,
    kernelSize: Kernel,
    o: { strides?: number; padding?: 'same' | 'valid'; activation?: 'relu' | null; useBias?: boolean; name?: string } = {},
  ): Sym => {
    const { strides = 1, padding = 'same', activation = 'relu', useBias = false, name } = o;
    x = call(conv2d({ filters, kernelSize, strides, padding, useBias, name: name ?? names.next('conv2d') }), x);
    if (!useBias) x = call(tfl.layers.batchNormalization({ axis: 3, scale: false, name: name ? `${name}_bn` : names.next('batch_normalization') }), x);
    if (activation) x = call(tfl.layers.activation({ activation, name: name ? `${name}_ac` : names.next('activation') }), x);
    return x;
  };
  const valid = { padding: 'valid' as const };
  const maxPool = (x: Sym) => call(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, name: names.next('max_pooling2d') }), x);
  const concat = (xs: Sym[], name: string) => call(tfl.layers.concatenate({ axis: 3, name }), xs);

  /** Keras's `inception_resnet_block`: branches → concat → 1×1 conv (bias) → x + scale · that → activation. */
  const block = (x: Sym, scale: number, type: 'block35' | 'block17' | 'block8', idx: number, activation: 'relu' | null = 'relu'): Sym => {
    let branches: Sym[];
    if (type === 'block35') {
      branches = [convBn(x, 32, 1), convBn(convBn(x, 32, 1), 32, 3), convBn(convBn(convBn(x, 32, 1), 48, 3), 64, 3)];
    } else if (type === 'block17') {
      branches = [convBn(x, 192, 1), convBn(convBn(convBn(x, 128, 1), 160, [1, 7]), 192, [7, 1])];
    } else {
      branches = [convBn(x, 192, 1), convBn(convBn(convBn(x, 192, 1), 224, [1, 3]), 256, [3, 1])];
    }
    const name = `${type}_${idx}`;
    const mixed = concat(branches, `${name}_mixed`);
    const up = convBn(mixed, x.shape[3] as number, 1, { activation: null, useBias: true, name: `${name}_conv` });
    x = call(new CustomScaleLayer({ scale, name: names.next('custom_scale_layer') }), [x, up]);
    return activation ? call(tfl.layers.activation({ activation, name: `${name}_ac` }), x) : x;
  };

  // Stem.
  let x = convBn(ctx.input, 32, 3, { strides: 2, ...valid });
  x = convBn(x, 32, 3, valid);
  x = convBn(x, 64, 3);
  x = maxPool(x);
  x = convBn(x, 80, 1, valid);
  x = convBn(x, 192, 3, valid);
  x = maxPool(x);
  // Mixed 5b (Inception-A).
  const b0 = convBn(x, 96, 1);
  const b1 = convBn(convBn(x, 48, 1), 64, 5);
  const b2 = convBn(convBn(convBn(x, 64, 1), 96, 3), 96, 3);
  const pool = convBn(call(tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: names.next('average_pooling2d') }), x), 64, 1);
  x = concat([b0, b1, b2, pool], 'mixed_5b');
  for (let i = 1; i <= 10; i++) x = block(x, 0.17, 'block35', i);
  // Mixed 6a (Reduction-A).
  x = concat(
    [convBn(x, 384, 3, { strides: 2, ...valid }), convBn(convBn(convBn(x, 256, 1), 256, 3), 384, 3, { strides: 2, ...valid }), maxPool(x)],
    'mixed_6a',
  );
  for (let i = 1; i <= 20; i++) x = block(x, 0.1, 'block17', i);
  // Mixed 7a (Reduction-B).
  x = concat(
    [
      convBn(convBn(x, 256, 1), 384, 3, { strides: 2, ...valid }),
      convBn(convBn(x, 256, 1), 288, 3, { strides: 2, ...valid }),
      convBn(convBn(convBn(x, 256, 1), 288, 3), 320, 3, { strides: 2, ...valid }),
      maxPool(x),
    ],
    'mixed_7a',
  );
  for (let i = 1; i <= 9; i++) x = block(x, 0.2, 'block8', i);
  x = block(x, 1.0, 'block8', 10, null);
  x = convBn(x, 1536, 1, { name: 'conv_7b' });
  if (!ctx.args.includeTop) return poolFeatures(x, ctx);
  return poolAndClassify(x, ctx, { poolName: 'avg_pool' });
}

/** keras.applications.InceptionResNetV2. */
export function inceptionResNetV2(args: ApplicationArgs = {}): Promise<tfl.LayersModel> {
  return buildApplication(INCEPTION_RESNET_V2, args, graph);
}
