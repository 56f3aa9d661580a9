// Convolution layers: Conv2D, DepthwiseConv2D, SeparableConv2D (with their activations, as Keras's).
import { activation, trainActivation } from './activations.js';
import { conv, convAsGemm, convWinograd } from './conv-infer.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { channelsLast, isChannelsFirst } from './channels-first.js';
import { conv2d, depthwiseConv2d, pointwiseConv } from './conv-train.js';
import { type FoldedNorm, rowsFit } from './depthwise-rows.js';
import { weightsOf } from './nchw.js';
import { batchNormParams } from './norm.js';
import type { LayerRule, TrainCall } from './types.js';
import { type Window, pointwise, windowOf } from './window.js';

/** The training step's window of a convolution layer: square strides, no dilation. */
function trainWindow({ c, shapes: [shape], unsupported }: TrainCall): Window {
  const [kh, kw] = c.kernelSize as number[];
  const [sh, sw] = c.strides as number[];
  const [dh, dw] = (c.dilationRate as number[] | undefined) ?? [1, 1];
  if (sh !== sw || dh !== 1 || dw !== 1) throw unsupported(`strides ${sh}x${sw}, dilation ${dh}x${dw} (square strides without dilation only)`);
  return windowOf(shape[0], shape[1], kh, kw, sh, c.padding as 'same' | 'valid');
}

function multiplierOne({ c, unsupported }: TrainCall): void {
  if (((c.depthMultiplier as number | undefined) ?? 1) !== 1) throw unsupported('depth multiplier other than 1');
}

/**
 * The BatchNormalization right after a linear DepthwiseConv2D (MobileNetV2's and EfficientNet's blocks), where it
 * reads nothing else and the rows form runs: marked folded (its own rule then passes its input on) and returned.
 */
function followingNorm({ e, layer, c }: TrainCall, win: Window, channels: number): FoldedNorm | undefined {
  if (!rowsFit(win) || ((c.activation as string | undefined) ?? 'linear') !== 'linear') return undefined;
  if (layer.inboundNodes.length !== 1 || layer.outboundNodes.length !== 1) return undefined;
  const next = layer.outboundNodes[0].outboundLayer as tfl.layers.Layer;
  const axis = next.getConfig().axis;
  if (next.getClassName() !== 'BatchNormalization' || next.inboundNodes.length !== 1 || (axis !== -1 && axis !== 3)) return undefined;
  e.t.foldedNorms.add(next.name);
  return batchNormParams(e, next, channels);
}

/** Layers that take a channels-first input and give a channels-first output of its shape. */
const PER_CHANNEL = new Set(['BatchNormalization', 'Activation', 'ReLU']);

/**
 * Whether a 1×1 convolution's output is made channels first (channels-first.ts): it reaches a DepthwiseConv2D the
 * rows form runs through per-channel layers only (an expand convolution's BatchNormalization and activation),
 * each the only reader of the one before.
 */
function feedsDepthwise(layer: tfl.layers.Layer, h: number, w: number): boolean {
  for (let at = layer; ; ) {
    if (at.outboundNodes.length !== 1) return false;
    const next = at.outboundNodes[0].outboundLayer as tfl.layers.Layer;
    const c = next.getConfig();
    if (next.inboundNodes.length !== 1) return false;
    if (next.getClassName() === 'DepthwiseConv2D') {
      const [kh, kw] = c.kernelSize as number[];
      const [sh, sw] = c.strides as number[];
      return sh === sw && rowsFit(windowOf(h, w, kh, kw, sh, c.padding as 'same' | 'valid'));
    }
    if (!PER_CHANNEL.has(next.getClassName()) || c.activation === 'softmax') return false;
    at = next;
  }
}

export const convLayers: Record<string, LayerRule> = {
  Conv2D: {
    infer: ({ g, layer, c, inputs: [x], winograd, batchSize }) => {
      const ws = weightsOf(layer);
      const bias = c.useBias ? ws.bias.values : undefined;
      const fast = (winograd ? convWinograd(g, x, layer, c, ws.kernel, batchSize, bias) : null) ?? convAsGemm(g, x, layer, c, ws.kernel, bias);
      const y = fast ?? conv(g, x, layer, c, ws.kernel, false, bias);
      return [activation(g, y, c.activation as string)];
    },
    // A 1×1 convolution reads and makes channels-first values around a depthwise one (channels-first.ts).
    channelsFirst: true,
    train: (call) => {
      const { e, layer, c, xs, shapes } = call;
      const kernel = e.weight(layer, 0);
      const bias = c.useBias ? e.weight(layer, 1) : undefined;
      const win = trainWindow(call);
      const [h, w, ci] = shapes[0];
      const co = c.filters as number;
      const outFirst = pointwise(win) && feedsDepthwise(layer, h, w);
      const z =
        pointwise(win) && (outFirst || isChannelsFirst(e.t, xs[0]))
          ? pointwiseConv(e.t, xs[0], kernel, bias, shapes[0], co, outFirst)
          : conv2d(e.t, channelsLast(e.t, xs[0]), kernel, bias, win, ci, co);
      return [trainActivation(e, z, c.activation as string)];
    },
  },
  DepthwiseConv2D: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      const ws = weightsOf(layer);
      const y = conv(g, x, layer, c, ws.depthwise_kernel, true, c.useBias ? ws.bias.values : undefined);
      return [activation(g, y, c.activation as string)];
    },
    channelsFirst: true,
    train: (call) => {
      const { e, layer, c, xs, shapes } = call;
      multiplierOne(call);
      const win = trainWindow(call);
      const [kernel, bias] = [e.weight(layer, 0), c.useBias ? e.weight(layer, 1) : undefined];
      const z = depthwiseConv2d(e.t, xs[0], kernel, bias, win, shapes[0][2], followingNorm(call, win, shapes[0][2]));
      return [trainActivation(e, z, c.activation as string)];
    },
  },
  SeparableConv2D: {
    infer: ({ g, layer, c, inputs: [x] }) => {
      const ws = weightsOf(layer);
      const dw = conv(g, x, layer, c, ws.depthwise_kernel, true);
      const pw = conv(g, dw, layer, { strides: 1, padding: 'valid' }, ws.pointwise_kernel, false, c.useBias ? ws.bias.values : undefined);
      return [activation(g, pw, c.activation as string)];
    },
    train: (call) => {
      const { e, layer, c, xs, shapes } = call;
      multiplierOne(call);
      const channels = shapes[0][2];
      const dw = depthwiseConv2d(e.t, xs[0], e.weight(layer, 0), undefined, trainWindow(call), channels);
      const win = trainWindow(call);
      const kernel = e.weight(layer, 1);
      const bias = c.useBias ? e.weight(layer, 2) : undefined;
      const co = c.filters as number;
      // The rows form's output is channels first: the pointwise product reads it so.
      const pw = isChannelsFirst(e.t, dw)
        ? pointwiseConv(e.t, dw, kernel, bias, [win.oh, win.ow, channels], co, false)
        : conv2d(e.t, dw, kernel, bias, windowOf(win.oh, win.ow, 1, 1, 1, 'valid'), channels, co);
      return [trainActivation(e, pw, c.activation as string)];
    },
  },
};
