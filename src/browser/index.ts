// transferkit in the browser (`transferkit/browser`): the Node library's compiler, training steps and epoch loop
// on ONNX Runtime Web. Only I/O differs: the package's "browser" field swaps the few modules that touch Node
// (src/browser/twins/) for their browser twins, and the page hands over files it picked.
import { loadOrt } from '../engine/ort-runtime.js';
import { type ExecutionProvider, executionProviders, useExecutionProviders } from './ort-providers.js';

export type { ExecutionProvider } from './ort-providers.js';

export { addHead } from '../train/model/head.js';
export { applyStrategy } from '../train/strategy/strategies.js';
export { createTrainer } from '../engine/trainer.js';
export { optimizerSpec } from '../engine/optimizers.js';
export { seededRandom } from '../util/random.js';
export { createPredictor, type Predictor } from '../engine/predictor.js';
export { MODEL_FILE_NAMES, type ModelFileFormat, modelFile, modelMetadata } from './model-file.js';
export { type OnnxFineTune, onnxBase, onnxFeatures, onnxFineTune, onnxHead } from './onnx-base.js';
export type { OnnxBase, OnnxBaseOptions, OnnxPreprocessing } from '../engine/onnx-base-graph.js';
export { TransferkitError } from '../errors.js';
export type { Trainer, StepResult } from '../engine/training.js';
export type { TrainEvent } from '../train/fit/options.js';
export { type BaseOptions, type PickedFile, buildBase } from './weights.js';
export { type FetchWeightsOptions, type FetchedWeights, WEIGHTS_CACHE, fetchWeights, weightsEntryOf } from './weights-url.js';
export { BROWSER_IMAGE_EXTENSIONS, type FolderFile, type PickedFolder, decodeImage, imageFolderFromFiles, loadBatch, screenFolder } from './images.js';
export type { FeatureCache } from './row-sinks.js';
export { type BrowserTrainOptions, type BrowserTrainResult, trainClassifier } from './train.js';
export { type OnnxTrainOptions, type OnnxTrainResult, trainOnnxClassifier } from './onnx-train.js';
export { type ImageAnswer, classifyImages } from './classify.js';
export { onnxModelFile } from './onnx-model-file.js';
export { type CheckpointStore, type RunCheckpoint, opfsCheckpoints } from './checkpoints.js';
export { BROWSER_STRATEGIES, type BrowserComparison, compareStrategies } from './compare.js';
export { rowName } from '../train/strategy/compare-row.js';
export type { ClassificationReport, StrategyResult } from '../train/shapes.js';

/**
 * Where ONNX Runtime Web finds its WebAssembly files (ort-wasm-simd-threaded.{mjs,wasm}, and the .asyncify ones for
 * WebGPU; a static build puts them beside the page), how many threads it runs (more than one needs a cross-origin
 * isolated page), and its execution providers: `['webgpu', 'wasm']` runs on WebGPU where the browser has it (ORT
 * Web's own per-op fallback to WebAssembly), else on WebAssembly with `notice` saying why. Call it before training.
 */
export async function configureOnnxRuntime(o: {
  wasmPaths?: string;
  numThreads?: number;
  executionProviders?: readonly ExecutionProvider[];
}): Promise<{ executionProviders: readonly ExecutionProvider[]; notice?: string }> {
  const chosen = o.executionProviders ? await useExecutionProviders(o.executionProviders) : { executionProviders: executionProviders() };
  const { env } = await loadOrt();
  if (o.wasmPaths !== undefined) env.wasm.wasmPaths = o.wasmPaths;
  if (o.numThreads !== undefined) env.wasm.numThreads = o.numThreads;
  return chosen;
}
