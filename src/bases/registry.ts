// The one list of pretrained bases transferkit knows by name: the zoo's Keras applications and the ONNX backbones
// (Transformers.js folders), each with its id, the names it also answers to, its input size, its normalisation
// and its weights files. `--base` (resolveBase) and `transferkit weights` look names up here.
import { type PreprocessMode, applicationIds, findApplication, getApplication } from '../applications/index.js';
import type { WeightsEntry } from '../weights/remote.js';
import { BACKBONE_FILES, ONNX_BACKBONES, type OnnxBackbone, backboneUrl, findBackbone } from '../weights/onnx-backbones.js';

/** How a base scales its pixels: a zoo preprocessing mode, or a mean and std after x / 255. */
export type Normalization = { mode: PreprocessMode } | { mean: [number, number, number]; std: [number, number, number] };

/** One base of the registry: a zoo model (built here, Keras's weights) or an ONNX backbone (downloaded as a folder). */
export type RegistryEntry =
  | {
      kind: 'zoo';
      id: string;
      /** Keras's function name, e.g. `ResNet50` (matched in any case). */
      aliases: string[];
      inputSize: number;
      normalization: Normalization;
      /** Keras's published weights files (with and without the classifier, per variant). */
      weights: WeightsEntry[];
    }
  | {
      kind: 'onnx';
      id: string;
      /** The huggingface.co repository and its short name. */
      aliases: string[];
      /** The size and normalisation of its image processor; a cached folder's preprocessor_config.json wins. */
      inputSize: number;
      normalization: Normalization;
      /** The folder's files on huggingface.co (hash-pinned at first download). */
      weights: string[];
      backbone: OnnxBackbone;
    };

const zooEntry = (id: string): RegistryEntry => {
  const { spec } = getApplication(id);
  return { kind: 'zoo', id, aliases: [spec.name], inputSize: spec.defaultSize, normalization: { mode: spec.preprocessing }, weights: spec.weights };
};

const onnxEntry = (b: OnnxBackbone): RegistryEntry => ({
  kind: 'onnx',
  id: b.id,
  aliases: [b.repo, b.repo.split('/')[1]],
  inputSize: b.inputSize,
  normalization: { mean: b.mean, std: b.std },
  weights: BACKBONE_FILES.map((f) => backboneUrl(b, f)),
  backbone: b,
});

/** Every named base: the zoo in Keras's documentation order, then the ONNX backbones. */
export function baseRegistry(): RegistryEntry[] {
  return [...applicationIds().map(zooEntry), ...ONNX_BACKBONES.map(onnxEntry)];
}

/** The base a name means (a zoo id or Keras name in any case; a backbone id, repository or its short name). */
export function findBase(name: string): RegistryEntry | undefined {
  const app = findApplication(name);
  if (app) return zooEntry(app.spec.id);
  const b = findBackbone(name);
  return b ? onnxEntry(b) : undefined;
}
