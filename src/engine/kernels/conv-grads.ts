// Convolution gradients for the tfjs wasm backend, which ships no Conv2DBackpropFilter, no depthwise backprops
// and a naive-loop Conv2DBackpropInput. Each is built from kernels wasm runs fast (XNNPACK Conv2D/depthwise,
// MatMul, strided slices), so the fallback engine can train convs. Checked against the cpu backend in tests.
import { tf } from '../../tfjs.js';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
interface ConvAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
}
type Shape4 = [number, number, number, number];

function info(inShape: Shape4, filterShape: Shape4, attrs: ConvAttrs, depthwise: boolean): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat === 'NCHW') throw new Error('transferkit wasm conv gradients support NHWC only');
  return tf.backend_util.computeConv2DInfo(inShape, filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, depthwise);
}

/** The input window that filter tap (i, j) sees for every output position: [n, outH, outW, c]. */
function tap(xPadded: tf.Tensor4D, c: tf.backend_util.Conv2DInfo, i: number, j: number): tf.Tensor4D {
  const top = i * c.dilationHeight;
  const left = j * c.dilationWidth;
  return tf.stridedSlice(
    xPadded,
    [0, top, left, 0],
    [c.batchSize, top + (c.outHeight - 1) * c.strideHeight + 1, left + (c.outWidth - 1) * c.strideWidth + 1, c.inChannels],
    [1, c.strideHeight, c.strideWidth, 1],
  ) as tf.Tensor4D;
}

function padInput(x: tf.Tensor4D, c: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const p = c.padInfo;
  return tf.pad(x, [
    [0, 0],
    [p.top, p.bottom],
    [p.left, p.right],
    [0, 0],
  ]);
}

/** dy with stride-1 zeros between its rows and columns, then padded so a stride-1 correlation with the flipped
 * filter yields exactly the input's size (negative padding crops). */
function dilateAndPad(dy: tf.Tensor4D, c: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [n, oh, ow, ch] = dy.shape;
  const sh = c.strideHeight;
  const sw = c.strideWidth;
  let d: tf.Tensor4D = dy;
  if (sh > 1 || sw > 1) {
    const spread = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, ch]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    d = tf.slice(tf.reshape(spread, [n, oh * sh, ow * sw, ch]) as tf.Tensor4D, [0, 0, 0, 0], [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, ch]);
  }
  const top = (c.filterHeight - 1) * c.dilationHeight - c.padInfo.top;
  const left = (c.filterWidth - 1) * c.dilationWidth - c.padInfo.left;
  const bottom = c.inHeight + c.padInfo.top - d.shape[1];
  const right = c.inWidth + c.padInfo.left - d.shape[2];
  d = tf.pad(d, [
    [0, 0],
    [Math.max(top, 0), Math.max(bottom, 0)],
    [Math.max(left, 0), Math.max(right, 0)],
    [0, 0],
  ]);
  if (top < 0 || left < 0 || bottom < 0 || right < 0) {
    const [, h, w] = d.shape;
    d = tf.slice(
      d,
      [0, Math.max(-top, 0), Math.max(-left, 0), 0],
      [n, h - Math.max(-top, 0) - Math.max(-bottom, 0), w - Math.max(-left, 0) - Math.max(-right, 0), ch],
    );
  }
  return d;
}

/** The filter rotated 180° in space, as contiguous row slices (wasm's Reverse and Gather walk element by
 * element: 150 ms for a 3×3×512×512 filter, against 15 ms this way). */
function flipSpatial(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, a, b] = filter.shape;
  const taps = tf.reshape(filter, [kh * kw, a * b]);
  const rows = Array.from({ length: kh * kw }, (_, i) => tf.slice(taps, [kh * kw - 1 - i, 0], [1, a * b]));
  return tf.reshape(rows.length === 1 ? rows[0] : tf.concat(rows), filter.shape);
}

const dilationsOf = (c: tf.backend_util.Conv2DInfo): [number, number] => [c.dilationHeight, c.dilationWidth];

/**
 * dW as one Conv2D: input channels as the batch, the batch as channels, dy as the filter dilated by the
 * stride. dW[i, j, ci, co] = Σ x[n, i·d + oh·s − pad, …, ci] · dy[n, oh, ow, co].
 */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, attrs: ConvAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const c = info(x.shape, filterShape, attrs, false);
    if (c.dilationHeight > 1 || c.dilationWidth > 1) return tapFilterGrad(x, dy, filterShape, c);
    const p = c.padInfo;
    const xt = tf.transpose(
      tf.pad(x, [
        [0, 0],
        [p.top, p.bottom],
        [p.left, p.right],
        [0, 0],
      ]),
      [3, 1, 2, 0],
    );
    const dyt = tf.transpose(dy, [1, 2, 0, 3]);
    const out = tf.conv2d(xt as tf.Tensor4D, dyt as tf.Tensor4D, 1, 'valid', 'NHWC', [c.strideHeight, c.strideWidth]);
    const cropped = tf.slice(out, [0, 0, 0, 0], [c.inChannels, c.filterHeight, c.filterWidth, c.outChannels]);
    return tf.transpose(cropped, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** dW[i, j] = tap(i, j)ᵀ · dy, one MatMul per filter tap (dilated filters). */
function tapFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, c: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const xp = padInput(x, c);
  const dy2 = tf.reshape(dy, [-1, c.outChannels]) as tf.Tensor2D;
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < c.filterHeight; i++) {
    for (let j = 0; j < c.filterWidth; j++) taps.push(tf.matMul(tf.reshape(tap(xp, c, i, j), [-1, c.inChannels]) as tf.Tensor2D, dy2, true, false));
  }
  return tf.reshape(tf.stack(taps), filterShape);
}

/** dX as a stride-1 Conv2D of the dilated dy with the flipped filter, its in/out channels swapped. */
export function conv2dInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: Shape4, attrs: ConvAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const c = info(inputShape, filter.shape, attrs, false);
    const flipped = tf.transpose(flipSpatial(filter), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(dilateAndPad(dy, c), flipped, 1, 'valid', 'NHWC', dilationsOf(c));
  });
}

/** Depthwise dW[i, j, c, m] = Σ tap(i, j)[…, c] · dy[…, c·M + m]. */
export function depthwiseFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, attrs: ConvAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const c = info(x.shape, filterShape, attrs, true);
    const [, , channels, multiplier] = filterShape;
    const xp = padInput(x, c);
    const dy5 = tf.reshape(dy, [c.batchSize, c.outHeight, c.outWidth, channels, multiplier]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < c.filterHeight; i++) {
      for (let j = 0; j < c.filterWidth; j++) taps.push(tf.sum(tf.mul(tf.expandDims(tap(xp, c, i, j), 4), dy5), [0, 1, 2]));
    }
    return tf.reshape(tf.stack(taps), filterShape);
  });
}

/** Depthwise dX: a stride-1 depthwise conv of the dilated dy with the flipped filter, summed over the multiplier. */
export function depthwiseInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: Shape4, attrs: ConvAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const c = info(inputShape, filter.shape, attrs, true);
    const [kh, kw, channels, multiplier] = filter.shape;
    const flipped = tf.reshape(flipSpatial(filter), [kh, kw, channels * multiplier, 1]) as tf.Tensor4D;
    const out = tf.depthwiseConv2d(dilateAndPad(dy, c), flipped, 1, 'valid', 'NHWC', dilationsOf(c));
    return multiplier === 1 ? out : (tf.sum(tf.reshape(out, [...inputShape, multiplier]), 4) as tf.Tensor4D);
  });
}

let registered = false;

/** Registers the four gradient kernels for the wasm backend (replacing its slow Conv2DBackpropInput). */
export function registerWasmConvGrads(): void {
  if (registered) return;
  registered = true;
  type Attrs = ConvAttrs & { filterShape: Shape4; inputShape: Shape4 };
  const kernels: Array<[string, (i: tf.NamedTensorMap, a: Attrs) => tf.Tensor]> = [
    ['Conv2DBackpropFilter', (i, a) => conv2dFilterGrad(i.x as tf.Tensor4D, i.dy as tf.Tensor4D, a.filterShape, a)],
    ['Conv2DBackpropInput', (i, a) => conv2dInputGrad(i.dy as tf.Tensor4D, i.filter as tf.Tensor4D, a.inputShape, a)],
    ['DepthwiseConv2dNativeBackpropFilter', (i, a) => depthwiseFilterGrad(i.x as tf.Tensor4D, i.dy as tf.Tensor4D, a.filterShape, a)],
    ['DepthwiseConv2dNativeBackpropInput', (i, a) => depthwiseInputGrad(i.dy as tf.Tensor4D, i.filter as tf.Tensor4D, a.inputShape, a)],
  ];
  for (const [kernelName, grad] of kernels) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    // A kernel may return a Tensor (tfjs-core keeps it as the op's output); tape recording is off inside kernels.
    const kernelFunc: tf.KernelFunc = ({ inputs, attrs }) => grad(inputs as tf.NamedTensorMap, attrs as unknown as Attrs);
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}
