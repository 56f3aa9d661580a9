// The head's base on an imported ONNX base: a parameter-free Keras layer standing for the ONNX graph, taking
// its feature vector, so the zoo's head, trainer and saved-model code apply unchanged (Node and the page).
import { tfl } from '../../tfjs.js';

/** The stand-in layer's name: the head's input is the base's features. */
export const STAND_IN = 'onnx_base';

/** The head's base: a parameter-free layer standing for the ONNX base, taking its feature vector. */
export function standInBase(dim: number): tfl.LayersModel {
  const input = tfl.input({ shape: [dim], name: 'features' });
  const output = tfl.layers.activation({ activation: 'linear', name: 'features_identity' }).apply(input) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output, name: STAND_IN });
}
