// An imported ONNX model as a pretrained base, read from disk: a model.onnx, or a Transformers.js folder
// (onnx/model.onnx beside preprocessor_config.json and config.json). What the graph becomes is onnx-base-graph.ts.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { TransferkitError } from '../errors.js';
import { type OnnxBase, type OnnxBaseOptions, type OnnxPreprocessing, onnxBaseFrom, preprocessingFrom } from './onnx-base-graph.js';
import type { GraphValue } from './onnx/proto.js';
import { decodeOnnxFile } from './onnx/decode.js';

export {
  type OnnxBase,
  type OnnxBaseOptions,
  type OnnxPreprocessing,
  encodeBase,
  encodeFeatureBase,
  onnxSummary,
} from './onnx-base-graph.js';

/** The model file of a path: a .onnx file, or a folder holding onnx/model.onnx (Transformers.js) or model.onnx. */
export function onnxModelFile(p: string): string | null {
  if (p.toLowerCase().endsWith('.onnx')) return p;
  if (!existsSync(p) || !statSync(p).isDirectory()) return null;
  for (const f of ['onnx/model.onnx', 'model.onnx']) if (existsSync(path.join(p, f))) return path.join(p, f);
  return null;
}

/** Whether `--base p` names an ONNX model (a file or a model folder) rather than a zoo id. */
export const isOnnxPath = (p: string) => p.toLowerCase().endsWith('.onnx') || onnxModelFile(p) !== null;

function readJsonBeside(dir: string, name: string): Record<string, unknown> | undefined {
  for (const d of [dir, path.dirname(dir)]) {
    const f = path.join(d, name);
    if (!existsSync(f)) continue;
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new TransferkitError(`${f}: not valid JSON (${(err as Error).message.split('\n')[0]}); fix or remove it`);
    }
  }
  return undefined;
}

/** The model's preprocessing: the preprocessor_config.json in `dir` (or above it), else the graph's size and ImageNet's. */
export const preprocessingOf = (dir: string, graph: GraphValue, o: OnnxBaseOptions = {}): OnnxPreprocessing =>
  preprocessingFrom(readJsonBeside(dir, 'preprocessor_config.json'), path.join(dir, 'preprocessor_config.json'), graph, o);

/** Reads an ONNX model (file or folder) as a base, cut at its feature value. */
export function loadOnnxBase(p: string, o: OnnxBaseOptions = {}, id?: string): OnnxBase {
  const file = onnxModelFile(p);
  if (!file || !existsSync(file))
    throw new TransferkitError(`${p}: no ONNX model there; give a .onnx file, or a folder with onnx/model.onnx (Transformers.js layout) or model.onnx`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new TransferkitError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const dir = path.dirname(path.resolve(file));
  return onnxBaseFrom(
    {
      model: decodeOnnxFile(file, bytes),
      file: path.resolve(file),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      id: id ?? path.basename(path.resolve(p)).replace(/\.onnx$/i, ''),
      preprocessor: readJsonBeside(dir, 'preprocessor_config.json'),
      config: readJsonBeside(dir, 'config.json'),
      configFile: path.join(dir, 'preprocessor_config.json'),
    },
    o,
  );
}
