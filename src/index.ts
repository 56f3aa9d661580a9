// transferkit's public API: Keras's applications workflow for Node and the browser.
export * as tf from '@tensorflow/tfjs-core';
export * as tfl from '@tensorflow/tfjs-layers';
export * as applications from './applications/index.js';
export { TransferkitError, UsageError } from './errors.js';
export { initBackend, type BackendName } from './engine/backend.js';
export { summary, summarize, type ModelSummary, type LayerSummary, type SummaryOptions } from './report/summary.js';
export { countParams, freeze, unfreeze, unfreezeFrom, baseModel, cutLayerNames, type ParamCounts } from './train/trainable.js';
export { addHead, parseHeadSpec, formatHeadSpec, type HeadLayerSpec } from './train/head.js';
export { applyStrategy, compareParams, STRATEGIES, type Strategy, type StrategyParams } from './train/strategies.js';
export { stackedBarSvg, writeChart } from './report/charts.js';
export { loadWeights, saveWeights, type LoadOptions, type LoadReport } from './weights/load.js';
export { importWeights, verifyWeights, weightsRegistry, IMAGENET_CLASS_INDEX } from './weights/registry.js';
export { decodePredictions, type DecodedPrediction } from './weights/imagenet.js';
export { transferkitHome, type WeightsEntry, type RemoteFile } from './weights/remote.js';
export { preprocessInput, type PreprocessMode } from './data/preprocess.js';
export { modelBlocks, type BlockInfo } from './applications/blocks.js';
