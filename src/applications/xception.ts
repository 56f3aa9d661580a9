// Xception (Chollet, 2017): depthwise-separable convolutions with residual connections, as keras.applications
// builds it (its residual convolutions are unnamed there and take Keras's automatic names).
import { tfl } from '../tfjs.js';
import { kerasTopAndNotop } from '../weights/remote.js';
import { type ApplicationSpec, type BuildContext, type Sym, buildApplication, call, conv2d, poolAndClassify, poolFeatures, separableConv2d } from './common.js';
import type { ApplicationArgs } from './inputs.js';

const WEIGHTS = kerasTopAndNotop(
  'xception',
  'xception',
  'xception_weights_tf_dim_ordering_tf_kernels',
  ['0a58e3b7378bc2990ea3b43d5981f1f6', 'b0042744bf5b25fce3cb969f33bebb97'],
  [22_910_480, 20_861_480],
);

export const XCEPTION: ApplicationSpec = {
  id: 'xception',
  name: 'Xception',
  defaultSize: 299,
  minSize: 71,
  preprocessing: 'tf',
  weights: WEIGHTS,
  blockOf: (n) => /^block\d+/.exec(n)?.[0] ?? null,
};

function graph(ctx: BuildContext): Sym {
  const { names } = ctx;
  const bn = (name?: string) => tfl.layers.batchNormalization({ axis: -1, name: name ?? names.next('batch_normalization') });
  const relu = (name: string) => tfl.layers.activation({ activation: 'relu', name });
  const sep = (x: Sym, filters: number, name: string) =>
    call(bn(`${name}_bn`), call(separableConv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, name }), x));
  const residual = (x: Sym, filters: number) =>
    call(bn(), call(conv2d({ filters, kernelSize: 1, strides: 2, padding: 'same', useBias: false, name: names.next('conv2d') }), x));
  const add = (a: Sym, b: Sym) => call(tfl.layers.add({ name: names.next('add') }), [a, b]);
  const pool = (x: Sym, name: string) => call(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name }), x);

  // Entry flow.
  let x = call(conv2d({ filters: 32, kernelSize: 3, strides: 2, useBias: false, name: 'block1_conv1' }), ctx.input);
  x = call(relu('block1_conv1_act'), call(bn('block1_conv1_bn'), x));
  x = call(conv2d({ filters: 64, kernelSize: 3, useBias: false, name: 'block1_conv2' }), x);
  x = call(relu('block1_conv2_act'), call(bn('block1_conv2_bn'), x));

  for (const [block, filters] of [
    [2, 128],
    [3, 256],
    [4, 728],
  ] as const) {
    const res = residual(x, filters);
    // Block 2 starts from an activated tensor; blocks 3 and 4 activate the sum first.
    if (block > 2) x = call(relu(`block${block}_sepconv1_act`), x);
    x = sep(x, filters, `block${block}_sepconv1`);
    x = call(relu(`block${block}_sepconv2_act`), x);
    x = sep(x, filters, `block${block}_sepconv2`);
    x = add(pool(x, `block${block}_pool`), res);
  }

  // Middle flow: eight identity-residual blocks of three separable convolutions.
  for (let block = 5; block <= 12; block++) {
    const res = x;
    for (let k = 1; k <= 3; k++) x = sep(call(relu(`block${block}_sepconv${k}_act`), x), 728, `block${block}_sepconv${k}`);
    x = add(x, res);
  }

  // Exit flow.
  const res = residual(x, 1024);
  x = sep(call(relu('block13_sepconv1_act'), x), 728, 'block13_sepconv1');
  x = sep(call(relu('block13_sepconv2_act'), x), 1024, 'block13_sepconv2');
  x = add(pool(x, 'block13_pool'), res);
  x = call(relu('block14_sepconv1_act'), sep(x, 1536, 'block14_sepconv1'));
  x = call(relu('block14_sepconv2_act'), sep(x, 2048, 'block14_sepconv2'));

  if (!ctx.args.includeTop) return poolFeatures(x, ctx);
  return poolAndClassify(x, ctx, { poolName: 'avg_pool' });
}

/** keras.applications.Xception. */
export function xception(args: ApplicationArgs = {}): Promise<tfl.LayersModel> {
  return buildApplication(XCEPTION, args, graph);
}
