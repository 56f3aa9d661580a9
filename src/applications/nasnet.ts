// NASNetMobile and NASNetLarge (Zoph et al., 2018): a searched normal cell and reduction cell, each taking the
// two previous cells' outputs, built from separable-convolution stacks and poolings, as keras.applications
// builds them (layer names, Keras 3's automatic names in its creation order, he_normal 1×1 convolutions).
import { tfl } from '../tfjs.js';
import { kerasTopAndNotop } from '../weights/remote.js';
import {
  type ApplicationSpec,
  type BuildContext,
  type Sym,
  activationName,
  buildApplication,
  call,
  conv2d,
  correctPad,
  dense,
  poolFeatures,
  separableConv2d,
} from './common.js';
import type { ApplicationArgs } from './inputs.js';

type Size = 'mobile' | 'large';

interface Config {
  penultimateFilters: number;
  numBlocks: number;
  stemFilters: number;
  skipReduction: boolean;
  defaultSize: number;
}

const FILTER_MULTIPLIER = 2;
const CONFIGS: Record<Size, Config> = {
  mobile: { penultimateFilters: 1056, numBlocks: 4, stemFilters: 32, skipReduction: false, defaultSize: 224 },
  large: { penultimateFilters: 4032, numBlocks: 6, stemFilters: 96, skipReduction: true, defaultSize: 331 },
};

/**
 * A cell's layers interleave with the next cell's in the graph's order (each cell also reads the one before the
 * last), so blocks close at each cell's concatenation (`normal_concat_N`, `reduction_concat_reduce_N`), as
 * Inception's `mixedN` do, and at the stem's `stem_bn1`.
 */
function blockOf(n: string): string | null {
  if (n === 'stem_bn1') return 'stem';
  const cell = /^(normal|reduction)_concat_(stem_\d|reduce_\d+|\d+)$/.exec(n);
  if (!cell) return null;
  return cell[2].startsWith('stem') ? cell[2] : cell[1] === 'normal' ? `normal_${cell[2]}` : `reduction_${cell[2].slice('reduce_'.length)}`;
}

// Keras's file names and md5s (nasnet.py); parameter counts from Keras 3.15.1's count_params().
const spec = (size: Size, md5: [string, string], params: [number, number]): ApplicationSpec => {
  const stem = size === 'mobile' ? 'NASNet-mobile' : 'NASNet-large';
  return {
    id: `nasnet_${size}`,
    name: `NASNet${size === 'mobile' ? 'Mobile' : 'Large'}`,
    defaultSize: CONFIGS[size].defaultSize,
    minSize: 32,
    preprocessing: 'tf',
    // Keras's published names: `NASNet-mobile.h5` and `NASNet-mobile-no-top.h5`.
    weights: kerasTopAndNotop(`nasnet_${size}`, 'nasnet', stem, md5, params).map((w) => {
      const file = w.includeTop ? `${stem}.h5` : `${stem}-no-top.h5`;
      return { ...w, file, url: w.url.replace(/[^/]+$/, file) };
    }),
    blockOf,
    blockNamedAtEnd: true,
  };
};

export const NASNET_MOBILE = spec('mobile', ['020fb642bf7360b370c678b08e0adf61', '1ed92395b5b598bdda52abe5c0dbfd63'], [5_326_716, 4_269_716]);
export const NASNET_LARGE = spec('large', ['11577c9a518f0070763c2b964a382f17', 'd81d89dc07e6e56530c4e77faddd61b5'], [88_949_818, 84_887_922]);

const bn = (name: string) => tfl.layers.batchNormalization({ axis: -1, momentum: 0.9997, epsilon: 1e-3, name });
const relu = (ctx: BuildContext, name = ctx.names.next('activation')) => tfl.layers.activation({ activation: 'relu', name });
const conv1x1 = (filters: number, name: string) => conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, name, kernelInitializer: 'heNormal' });
const avgPool = (size: number, strides: number, padding: 'same' | 'valid', name: string) =>
  tfl.layers.averagePooling2d({ poolSize: size, strides, padding, name });
const add = (name: string, xs: Sym[]) => call(tfl.layers.add({ name }), xs);

/** Keras's `_separable_conv_block`: two ReLU → separable conv → BN, the first strided when asked. */
function sepBlock(ip: Sym, filters: number, kernel: number, strides: number, id: string, ctx: BuildContext): Sym {
  let x = call(relu(ctx), ip);
  if (strides === 2) x = call(tfl.layers.zeroPadding2d({ padding: correctPad(x, kernel), name: `separable_conv_1_pad_${id}` }), x);
  const sep = (n: number, s: number, padding: 'same' | 'valid') =>
    separableConv2d({ filters, kernelSize: kernel, strides: s, padding, useBias: false, name: `separable_conv_${n}_${id}` });
  x = call(sep(1, strides, strides === 2 ? 'valid' : 'same'), x);
  x = call(bn(`separable_conv_1_bn_${id}`), x);
  x = call(relu(ctx), x);
  x = call(sep(2, 1, 'same'), x);
  return call(bn(`separable_conv_2_bn_${id}`), x);
}

/** Keras's `_adjust_block`: brings the older input `p` to `ip`'s size (factorised reduction) or width (projection). */
function adjust(p: Sym | null, ip: Sym, filters: number, id: string, ctx: BuildContext): Sym {
  if (p === null) return ip;
  if (p.shape[2] !== ip.shape[2]) {
    p = call(relu(ctx, `adjust_relu_1_${id}`), p);
    let p1 = call(avgPool(1, 2, 'valid', `adjust_avg_pool_1_${id}`), p);
    p1 = call(conv1x1(Math.floor(filters / 2), `adjust_conv_1_${id}`), p1);
    let p2 = call(
      tfl.layers.zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
        name: ctx.names.next('zero_padding2d'),
      }),
      p,
    );
    p2 = call(
      tfl.layers.cropping2D({
        cropping: [
          [1, 0],
          [1, 0],
        ],
        name: ctx.names.next('cropping2d'),
      }),
      p2,
    );
    p2 = call(avgPool(1, 2, 'valid', `adjust_avg_pool_2_${id}`), p2);
    p2 = call(conv1x1(Math.floor(filters / 2), `adjust_conv_2_${id}`), p2);
    const both = call(tfl.layers.concatenate({ axis: -1, name: ctx.names.next('concatenate') }), [p1, p2]);
    return call(bn(`adjust_bn_${id}`), both);
  }
  if (p.shape[3] !== filters) {
    p = call(relu(ctx), p);
    p = call(conv1x1(filters, `adjust_conv_projection_${id}`), p);
    return call(bn(`adjust_bn_${id}`), p);
  }
  return p;
}

/** The 1×1 squeeze of the newer input that starts both cells. */
function squeeze(ip: Sym, filters: number, kind: 'normal' | 'reduction', id: string, ctx: BuildContext): Sym {
  const h = call(relu(ctx), ip);
  return call(bn(`${kind}_bn_1_${id}`), call(conv1x1(filters, `${kind}_conv_1_${id}`), h));
}

/** Keras's `_normal_a_cell`; returns the cell's output and its input (the next cell's `p`). */
function normalCell(ip: Sym, pIn: Sym | null, filters: number, id: string, ctx: BuildContext): [Sym, Sym] {
  const p = adjust(pIn, ip, filters, id, ctx);
  const h = squeeze(ip, filters, 'normal', id, ctx);
  const x1 = add(`normal_add_1_${id}`, [sepBlock(h, filters, 5, 1, `normal_left1_${id}`, ctx), sepBlock(p, filters, 3, 1, `normal_right1_${id}`, ctx)]);
  const x2 = add(`normal_add_2_${id}`, [sepBlock(p, filters, 5, 1, `normal_left2_${id}`, ctx), sepBlock(p, filters, 3, 1, `normal_right2_${id}`, ctx)]);
  const x3 = add(`normal_add_3_${id}`, [call(avgPool(3, 1, 'same', `normal_left3_${id}`), h), p]);
  const x4 = add(`normal_add_4_${id}`, [call(avgPool(3, 1, 'same', `normal_left4_${id}`), p), call(avgPool(3, 1, 'same', `normal_right4_${id}`), p)]);
  const x5 = add(`normal_add_5_${id}`, [sepBlock(h, filters, 3, 1, `normal_left5_${id}`, ctx), h]);
  return [call(tfl.layers.concatenate({ axis: -1, name: `normal_concat_${id}` }), [p, x1, x2, x3, x4, x5]), ip];
}

/** Keras's `_reduction_a_cell`; returns the cell's output and its input. */
function reductionCell(ip: Sym, pIn: Sym | null, filters: number, id: string, ctx: BuildContext): [Sym, Sym] {
  const p = adjust(pIn, ip, filters, id, ctx);
  const h = squeeze(ip, filters, 'reduction', id, ctx);
  const h3 = call(tfl.layers.zeroPadding2d({ padding: correctPad(h, 3), name: `reduction_pad_1_${id}` }), h);
  const maxPool = (name: string) => tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name });
  const x1 = add(`reduction_add_1_${id}`, [
    sepBlock(h, filters, 5, 2, `reduction_left1_${id}`, ctx),
    sepBlock(p, filters, 7, 2, `reduction_right1_${id}`, ctx),
  ]);
  const x2 = add(`reduction_add_2_${id}`, [call(maxPool(`reduction_left2_${id}`), h3), sepBlock(p, filters, 7, 2, `reduction_right2_${id}`, ctx)]);
  const x3 = add(`reduction_add3_${id}`, [
    call(avgPool(3, 2, 'valid', `reduction_left3_${id}`), h3),
    sepBlock(p, filters, 5, 2, `reduction_right3_${id}`, ctx),
  ]);
  const x4 = call(avgPool(3, 1, 'same', `reduction_left4_${id}`), x1);
  const x4sum = add(ctx.names.next('add'), [x2, x4]);
  const x5 = add(`reduction_add4_${id}`, [sepBlock(x1, filters, 3, 1, `reduction_left4_${id}`, ctx), call(maxPool(`reduction_right5_${id}`), h3)]);
  return [call(tfl.layers.concatenate({ axis: -1, name: `reduction_concat_${id}` }), [x2, x3, x4sum, x5]), ip];
}

function graph(ctx: BuildContext, c: Config): Sym {
  const filters = Math.floor(c.penultimateFilters / 24);
  const m = FILTER_MULTIPLIER;
  let x = call(
    conv2d({ filters: c.stemFilters, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'stem_conv1', kernelInitializer: 'heNormal' }),
    ctx.input,
  );
  x = call(bn('stem_bn1'), x);
  let p: Sym | null = null;
  let p0: Sym;
  [x, p] = reductionCell(x, p, Math.floor(filters / m ** 2), 'stem_1', ctx);
  [x, p] = reductionCell(x, p, Math.floor(filters / m), 'stem_2', ctx);
  for (let i = 0; i < c.numBlocks; i++) [x, p] = normalCell(x, p, filters, `${i}`, ctx);
  [x, p0] = reductionCell(x, p, filters * m, `reduce_${c.numBlocks}`, ctx);
  if (!c.skipReduction) p = p0;
  for (let i = 0; i < c.numBlocks; i++) [x, p] = normalCell(x, p, filters * m, `${c.numBlocks + i + 1}`, ctx);
  [x, p0] = reductionCell(x, p, filters * m ** 2, `reduce_${2 * c.numBlocks}`, ctx);
  if (!c.skipReduction) p = p0;
  for (let i = 0; i < c.numBlocks; i++) [x, p] = normalCell(x, p, filters * m ** 2, `${2 * c.numBlocks + i + 1}`, ctx);
  x = call(relu(ctx), x);
  if (!ctx.args.includeTop) return poolFeatures(x, ctx);
  x = call(tfl.layers.globalAveragePooling2d({ name: ctx.names.next('global_average_pooling2d') }), x);
  return call(dense({ units: ctx.args.classes, activation: activationName(ctx.args.classifierActivation), name: 'predictions' }), x);
}

const builder =
  (s: ApplicationSpec, size: Size) =>
  (args: ApplicationArgs = {}) =>
    // Keras's own rule for NASNetMobile: without top and without a shape, it still takes 224×224×3.
    buildApplication(
      s,
      size === 'mobile' && args.includeTop === false && !args.inputShape && !args.inputTensor ? { ...args, inputShape: [224, 224, 3] } : args,
      (ctx) => graph(ctx, CONFIGS[size]),
    );

/** keras.applications.NASNetMobile and NASNetLarge. */
export const nasnetMobile = builder(NASNET_MOBILE, 'mobile');
/** keras.applications.NASNetLarge. */
export const nasnetLarge = builder(NASNET_LARGE, 'large');
