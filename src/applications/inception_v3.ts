// Inception v3 (Szegedy et al., 2015), as keras.applications builds it. Its convolutions are unnamed in Keras,
// so they take Keras's automatic names (conv2d, conv2d_1, …), in Keras's order.
import { tfl } from '../tfjs.js';
import { kerasTopAndNotop } from '../weights/remote.js';
import { type ApplicationSpec, type BuildContext, type Sym, buildApplication, call, conv2d, poolAndClassify, poolFeatures } from './common.js';
import type { ApplicationArgs } from './inputs.js';

const WEIGHTS = kerasTopAndNotop(
  'inception_v3',
  'inception_v3',
  'inception_v3_weights_tf_dim_ordering_tf_kernels',
  ['9a0d58056eeedaa3f26cb7ebd46da564', 'bcbd6486424b2319ff4ef7d526e38f63'],
  [23_851_784, 21_802_784],
);

export const INCEPTION_V3: ApplicationSpec = {
  id: 'inception_v3',
  name: 'InceptionV3',
  defaultSize: 299,
  minSize: 75,
  preprocessing: 'tf',
  weights: WEIGHTS,
  // Each inception module ends in its `mixedN` concatenation; its convolutions carry only counter names.
  blockOf: (n) => /^mixed\d+$/.exec(n)?.[0] ?? null,
  blockNamedAtEnd: true,
};

type Padding = 'same' | 'valid';

function graph(ctx: BuildContext): Sym {
  const { names } = ctx;
  /** Conv (no bias) → BN (no scale, as ReLU follows) → ReLU. */
  const cbr = (x: Sym, filters: number, rows: number, cols: number, padding: Padding = 'same', strides = 1): Sym => {
    x = call(conv2d({ filters, kernelSize: [rows, cols], strides, padding, useBias: false, name: names.next('conv2d') }), x);
    x = call(tfl.layers.batchNormalization({ axis: 3, scale: false, name: names.next('batch_normalization') }), x);
    return call(tfl.layers.activation({ activation: 'relu', name: names.next('activation') }), x);
  };
  const maxPool = (x: Sym) => call(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, name: names.next('max_pooling2d') }), x);
  const avgPool = (x: Sym) => call(tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: names.next('average_pooling2d') }), x);
  const concat = (xs: Sym[], name?: string) => call(tfl.layers.concatenate({ axis: 3, name: name ?? names.next('concatenate') }), xs);

  let x = cbr(ctx.input, 32, 3, 3, 'valid', 2);
  x = cbr(x, 32, 3, 3, 'valid');
  x = cbr(x, 64, 3, 3);
  x = maxPool(x);
  x = cbr(x, 80, 1, 1, 'valid');
  x = cbr(x, 192, 3, 3, 'valid');
  x = maxPool(x);

  // mixed 0–2: 35×35 (5×5 and double-3×3 branches)
  for (const [i, poolFilters] of [32, 64, 64].entries()) {
    const b1 = cbr(x, 64, 1, 1);
    const b5 = cbr(cbr(x, 48, 1, 1), 64, 5, 5);
    const b3 = cbr(cbr(cbr(x, 64, 1, 1), 96, 3, 3), 96, 3, 3);
    const bp = cbr(avgPool(x), poolFilters, 1, 1);
    x = concat([b1, b5, b3, bp], `mixed${i}`);
  }

  // mixed 3: reduction to 17×17
  {
    const b3 = cbr(x, 384, 3, 3, 'valid', 2);
    const bd = cbr(cbr(cbr(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 'valid', 2);
    x = concat([b3, bd, maxPool(x)], 'mixed3');
  }

  // mixed 4–7: 17×17 with factorised 7×7 convolutions
  for (const [i, c] of [128, 160, 160, 192].entries()) {
    const b1 = cbr(x, 192, 1, 1);
    const b7 = cbr(cbr(cbr(x, c, 1, 1), c, 1, 7), 192, 7, 1);
    let bd = cbr(x, c, 1, 1);
    bd = cbr(cbr(cbr(cbr(bd, c, 7, 1), c, 1, 7), c, 7, 1), 192, 1, 7);
    const bp = cbr(avgPool(x), 192, 1, 1);
    x = concat([b1, b7, bd, bp], `mixed${4 + i}`);
  }

  // mixed 8: reduction to 8×8
  {
    const b3 = cbr(cbr(x, 192, 1, 1), 320, 3, 3, 'valid', 2);
    const b7 = cbr(cbr(cbr(cbr(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 'valid', 2);
    x = concat([b3, b7, maxPool(x)], 'mixed8');
  }

  // mixed 9–10: 8×8 with split 1×3 / 3×1 branches
  for (let i = 0; i < 2; i++) {
    const b1 = cbr(x, 320, 1, 1);
    const b3 = cbr(x, 384, 1, 1);
    const b3cat = concat([cbr(b3, 384, 1, 3), cbr(b3, 384, 3, 1)], `mixed9_${i}`);
    const bd = cbr(cbr(x, 448, 1, 1), 384, 3, 3);
    const bdcat = concat([cbr(bd, 384, 1, 3), cbr(bd, 384, 3, 1)]);
    const bp = cbr(avgPool(x), 192, 1, 1);
    x = concat([b1, b3cat, bdcat, bp], `mixed${9 + i}`);
  }

  if (!ctx.args.includeTop) return poolFeatures(x, ctx);
  return poolAndClassify(x, ctx, { poolName: 'avg_pool' });
}

/** keras.applications.InceptionV3. */
export function inceptionV3(args: ApplicationArgs = {}): Promise<tfl.LayersModel> {
  return buildApplication(INCEPTION_V3, args, graph);
}
