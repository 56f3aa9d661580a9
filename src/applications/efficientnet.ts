// EfficientNetB0 (Tan & Le, 2019): MBConv blocks with squeeze-and-excitation and swish, its input scaling
// inside the model, as keras.applications builds it.
import * as tfl from '@tensorflow/tfjs-layers';
import { type ApplicationSpec, type BuildContext, type Sym, buildApplication, call, conv2d, correctPad, depthwiseConv2d, poolAndClassify, poolFeatures } from './common.js';
import type { ApplicationArgs } from './inputs.js';
import { Normalization, Rescaling } from './layers.js';

const IMAGENET_STD_RGB = [0.229, 0.224, 0.225];

export const EFFICIENTNET_B0: ApplicationSpec = {
  id: 'efficientnet_b0',
  name: 'EfficientNetB0',
  defaultSize: 224,
  minSize: 32,
  preprocessing: 'none',
  blockOf: (n) => /^(block\d[a-z]|stem|top)_/.exec(n)?.[1] ?? null,
  // Keras keeps EfficientNet's weights in a different bucket from the other applications.
  weights: [true, false].map((includeTop) => {
    const file = `efficientnetb0${includeTop ? '' : '_notop'}.h5`;
    return {
      model: 'efficientnet_b0',
      includeTop,
      file,
      url: `https://storage.googleapis.com/keras-applications/${file}`,
      md5: includeTop ? '902e53a9f72be733fc0bcb005b3ebbac' : '50bc09e76180e00e4465e1a485ddc09d',
      params: includeTop ? 5_330_571 : 4_049_571,
    };
  }),
};

const convInit = () => tfl.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'truncatedNormal' });
const denseInit = () => tfl.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanOut', distribution: 'uniform' });
const bn = (name: string) => tfl.layers.batchNormalization({ axis: 3, name });
const swish = (name: string) => tfl.layers.activation({ activation: 'swish', name });

interface StageArgs {
  kernel: number;
  repeats: number;
  filtersIn: number;
  filtersOut: number;
  expandRatio: number;
  strides: number;
}

/** The seven MBConv stages of B0 (squeeze-excite ratio 0.25, identity skips throughout). */
const STAGES: StageArgs[] = [
  { kernel: 3, repeats: 1, filtersIn: 32, filtersOut: 16, expandRatio: 1, strides: 1 },
  { kernel: 3, repeats: 2, filtersIn: 16, filtersOut: 24, expandRatio: 6, strides: 2 },
  { kernel: 5, repeats: 2, filtersIn: 24, filtersOut: 40, expandRatio: 6, strides: 2 },
  { kernel: 3, repeats: 3, filtersIn: 40, filtersOut: 80, expandRatio: 6, strides: 2 },
  { kernel: 5, repeats: 3, filtersIn: 80, filtersOut: 112, expandRatio: 6, strides: 1 },
  { kernel: 5, repeats: 4, filtersIn: 112, filtersOut: 192, expandRatio: 6, strides: 2 },
  { kernel: 3, repeats: 1, filtersIn: 192, filtersOut: 320, expandRatio: 6, strides: 1 },
];
const SE_RATIO = 0.25;
const DROP_CONNECT_RATE = 0.2;

/** MBConv: expand 1×1 → depthwise k×k → squeeze-excite → project 1×1, residual (with drop-connect) when shapes allow. */
function mbconv(inputs: Sym, a: StageArgs, dropRate: number, name: string): Sym {
  const filters = a.filtersIn * a.expandRatio;
  let x = inputs;
  if (a.expandRatio !== 1) {
    x = call(conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(), name: `${name}expand_conv` }), x);
    x = call(swish(`${name}expand_activation`), call(bn(`${name}expand_bn`), x));
  }
  if (a.strides === 2) x = call(tfl.layers.zeroPadding2d({ padding: correctPad(x, a.kernel), name: `${name}dwconv_pad` }), x);
  x = call(
    depthwiseConv2d({
      kernelSize: a.kernel,
      strides: a.strides,
      padding: a.strides === 2 ? 'valid' : 'same',
      useBias: false,
      depthwiseInitializer: convInit(),
      name: `${name}dwconv`,
    }),
    x,
  );
  x = call(swish(`${name}activation`), call(bn(`${name}bn`), x));
  const filtersSe = Math.max(1, Math.trunc(a.filtersIn * SE_RATIO));
  let se = call(tfl.layers.globalAveragePooling2d({ name: `${name}se_squeeze` }), x);
  se = call(tfl.layers.reshape({ targetShape: [1, 1, filters], name: `${name}se_reshape` }), se);
  se = call(conv2d({ filters: filtersSe, kernelSize: 1, padding: 'same', activation: 'swish', kernelInitializer: convInit(), name: `${name}se_reduce` }), se);
  se = call(conv2d({ filters, kernelSize: 1, padding: 'same', activation: 'sigmoid', kernelInitializer: convInit(), name: `${name}se_expand` }), se);
  x = call(tfl.layers.multiply({ name: `${name}se_excite` }), [x, se]);
  x = call(conv2d({ filters: a.filtersOut, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(), name: `${name}project_conv` }), x);
  x = call(bn(`${name}project_bn`), x);
  if (a.strides === 1 && a.filtersIn === a.filtersOut) {
    if (dropRate > 0) x = call(tfl.layers.dropout({ rate: dropRate, noiseShape: [null, 1, 1, 1] as unknown as number[], name: `${name}drop` }), x);
    x = call(tfl.layers.add({ name: `${name}add` }), [x, inputs]);
  }
  return x;
}

function graph(ctx: BuildContext): Sym {
  let x = call(new Rescaling({ scale: 1 / 255, name: ctx.names.next('rescaling') }), ctx.input);
  x = call(new Normalization({ axis: -1, name: ctx.names.next('normalization') }), x);
  // Keras's Normalization divides by sqrt(variance); the original divides by the variance (the std squared):
  // with ImageNet weights Keras adds the missing factor, and so do we.
  if (ctx.args.weights === 'imagenet') {
    x = call(new Rescaling({ scale: IMAGENET_STD_RGB.map((s) => 1 / Math.sqrt(s)), name: ctx.names.next('rescaling') }), x);
  }
  x = call(tfl.layers.zeroPadding2d({ padding: correctPad(x, 3), name: 'stem_conv_pad' }), x);
  x = call(conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: convInit(), name: 'stem_conv' }), x);
  x = call(swish('stem_activation'), call(bn('stem_bn'), x));
  const total = STAGES.reduce((n, s) => n + s.repeats, 0);
  let b = 0;
  STAGES.forEach((stage, i) => {
    for (let j = 0; j < stage.repeats; j++) {
      const args = j === 0 ? stage : { ...stage, strides: 1, filtersIn: stage.filtersOut };
      x = mbconv(x, args, (DROP_CONNECT_RATE * b) / total, `block${i + 1}${String.fromCharCode(97 + j)}_`);
      b++;
    }
  });
  x = call(conv2d({ filters: 1280, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(), name: 'top_conv' }), x);
  x = call(swish('top_activation'), call(bn('top_bn'), x));
  if (!ctx.args.includeTop) return poolFeatures(x, ctx, { avg: 'avg_pool', max: 'max_pool' });
  return poolAndClassify(x, ctx, { poolName: 'avg_pool', dropout: 0.2, kernelInitializer: denseInit() });
}

/** keras.applications.EfficientNetB0. */
export function efficientnetB0(args: ApplicationArgs = {}): Promise<tfl.LayersModel> {
  return buildApplication(EFFICIENTNET_B0, args, graph, { modelName: () => 'efficientnetb0' });
}
