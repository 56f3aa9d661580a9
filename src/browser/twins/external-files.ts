// The browser's twin of src/engine/onnx/external-files.ts: a page has the files the user picked, not a folder
// to read an ONNX model's external data from, so such a model is refused in one line (what to do instead).
import type * as node from '../../engine/onnx/external-files.js';
import { TransferkitError } from '../../errors.js';
import { ProtoError } from '../../engine/onnx/protobuf.js';

export const readModelBytes: typeof node.readModelBytes = (file) => {
  throw new TransferkitError(`${file}: a page reads no file by its path; pick the .onnx file (onnxBase takes its bytes)`);
};

export const externalFiles: typeof node.externalFiles = () => ({
  read(location, name) {
    throw new ProtoError(
      `tensor ${name} keeps its data in ${location} beside the model; export with the weights inside the .onnx file (under 2 GB) to use it in a browser`,
    );
  },
});
