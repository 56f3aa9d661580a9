// ONNX files the tests make without PyTorch.
import { writeFileSync } from 'node:fs';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/engine/backend.js';
import { compileInference } from '../src/engine/onnx/compile.js';
import { decodeModel } from '../src/engine/onnx/decode.js';
import { encodeModelValue } from '../src/engine/onnx/proto.js';

/**
 * A small Keras-built classifier compiled to ONNX, its nodes renamed with torch-style scopes: a stand-in for a
 * foreign file (NHWC input, a Gemm classifier, blocks features.0, pool, classifier), made without PyTorch.
 */
export async function foreignModel(file: string, size: number, classes: number): Promise<void> {
  await initBackend('cpu');
  const input = tfl.input({ shape: [size, size, 3] });
  let x = tfl.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: 'conv' }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tfl.SymbolicTensor;
  const y = tfl.layers.dense({ units: classes, activation: 'softmax', name: 'classifier' }).apply(x) as tfl.SymbolicTensor;
  const model = decodeModel(compileInference(tfl.model({ inputs: input, outputs: y })).onnx);
  const scope: Record<string, string> = {
    conv_node: '/features/features.0/',
    relu_node: '/features/features.0/',
    pool_node: '/pool/',
    classifier_node: '/classifier/',
  };
  for (const n of model.graph.nodes) n.name = `${scope[n.name] ?? '/'}${n.opType}`;
  writeFileSync(file, encodeModelValue(model));
}
