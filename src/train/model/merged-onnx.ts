// A model on an imported ONNX base as one ONNX graph (no file system, so the page builds it too).
import type * as tfl from '@tensorflow/tfjs-layers';
import { compileInference } from '../../engine/onnx/compile.js';
import { decodeModel } from '../../engine/onnx/decode.js';
import { mergeModels } from '../../engine/onnx/merge.js';
import { encodeModelValue } from '../../engine/onnx/proto.js';

/** The saved model's copy of the cut base. */
export const BASE_FILE = 'base.onnx';

/** The whole model as one ONNX graph: the cut base (pixels in), then the head compiled from its Keras layers. */
export function mergedOnnx(baseOnnx: Uint8Array, head: tfl.LayersModel): Uint8Array {
  const headModel = decodeModel(compileInference(head).onnx);
  return encodeModelValue(mergeModels(decodeModel(baseOnnx), headModel));
}
