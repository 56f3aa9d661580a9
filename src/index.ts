// transferkit's public API: Keras's applications workflow for Node and the browser.
export { tf, tfl } from './tfjs.js';
export * as applications from './applications/index.js';
export { TransferkitError, UsageError } from './errors.js';
export { initBackend, type BackendName } from './engine/backend.js';
export { summary, summarize, type ModelSummary, type LayerSummary, type SummaryOptions } from './report/summary.js';
export { countParams, baseModel, type ParamCounts } from './model/introspect.js';
export { freeze, unfreeze, unfreezeFrom, cutLayerNames } from './train/model/trainable.js';
export { addHead, parseHeadSpec, formatHeadSpec, type HeadLayerSpec } from './train/model/head.js';
export { applyStrategy, compareParams, STRATEGIES, type Strategy, type StrategyParams } from './train/strategy/strategies.js';
export { stackedBarSvg, writeChart } from './report/charts.js';
export { loadWeights, type LoadOptions, type LoadReport } from './weights/load.js';
export { saveWeights } from './weights/save.js';
export { importWeights, verifyWeights, weightsRegistry } from './bases/weights-files.js';
export { resolveBase, type BaseSpec, type BaseOptions, type ResolvedBase } from './bases/resolve.js';
export { baseRegistry, findBase, type RegistryEntry, type Normalization } from './bases/registry.js';
export type { OnnxBase, OnnxPreprocessing } from './engine/onnx-base.js';
export { decodePredictions, IMAGENET_CLASS_INDEX, type DecodedPrediction } from './weights/imagenet.js';
export type { WeightsEntry } from './weights/remote.js';
export { transferkitHome, type RemoteFile } from './util/remote-file.js';
export { preprocessInput, type PreprocessMode } from './data/preprocess.js';
export { modelBlocks, type BlockInfo } from './applications/blocks.js';
export { saveModel, loadModel, type ModelMetadata, type SavedModel } from './train/saved/saved-model.js';
export { compileInference, type CompiledGraph } from './engine/onnx/compile.js';
export { createPredictor, resolveEngine, type EngineName, type Predictor } from './engine/predictor.js';
export { createTrainer } from './engine/trainer.js';
export { takeSteps } from './engine/training.js';
export type { StepBatch, StepResult, Trainer, TrainerOptions } from './engine/training.js';
export { OrtTrainer } from './engine/ort-trainer.js';
export { extractFeatures, smallInputAdvice } from './train/features/extract.js';
export { listImageFolder, listImageFiles, type ImageFolder } from './data/folders.js';
export { decodeImage, type DicomSettings } from './data/decode.js';
export { readDicom, applyWindow, parseWindow, WINDOW_PRESETS, type DicomImage, type DicomWindow } from './data/dicom.js';
export { readRawPixels, modelView } from './data/inspect.js';
export { gradCam, defaultCamLayer, type GradCamResult } from './train/explain/gradcam.js';
export { trainImageClassifier, findLearningRate, type TrainOptions, type TrainResult, type TrainEvent, type PhaseLog } from './train/fit/fit.js';
export type { DataOptions, ModelOptions, ScheduleOptions, StoppingOptions, EngineOptions } from './train/fit/options.js';
export {
  earlyStopping,
  reduceLrOnPlateau,
  restoreBestWeights,
  epochCheckpoint,
  type TrainCallback,
  type EpochDecision,
  type EpochEnd,
  type PhaseEnd,
  type PhaseInfo,
  type HookContext,
} from './train/fit/callbacks.js';
export { trainedModelMetadata } from './train/fit/fit.js';
export { classificationReport, rocAuc, averagePrecision, youdenThreshold, balancedClassWeights, type ClassificationReport } from './train/evaluate/metrics.js';
export { learningRateAt, type ScheduleName } from './train/fit/schedule.js';
export { scoreFiles, evaluateFiles, type Evaluation } from './train/saved/predict.js';
export { compareStrategies, type StrategyResult } from './train/strategy/compare.js';
export { imageDatasetFromDirectory, type ImageDataset, type ImageDatasetOptions, type ImageBatchData } from './data/dataset.js';
export { augmentBatch, parseAugmentSpec, DEFAULT_AUGMENT, type AugmentSpec } from './data/augment.js';
export { readTargetsCsv } from './data/targets.js';
export { evaluateRegression, type RegressionEvaluation } from './train/saved/predict.js';
export { confusionMatrixSvg } from './report/confusion.js';
export { registerWasmConvGrads } from './engine/kernels/conv-grads.js';
export { parseShard, shardFromEnv, resolveShard, shardOfPath, selectShard, shardRows, shardFileName, type Shard } from './data/shards.js';
export { readFeaturesFile, writeFeaturesFile, featuresDigest, type FeaturesTable, type FeaturesMeta, type FeatureFormat } from './train/features/file.js';
export { extractFeatureTable } from './train/features/table.js';
export { mergeFeatureShards } from './train/features/merge.js';
export { trainFromFeatures } from './train/features/precomputed.js';
export { setDevice, cudaUnavailable, type Device } from './engine/ort-runtime.js';
export { fitEmbeddingHead } from './heads/fit-head.js';
export { parseEmbeddingHead, fitHead, knnProbabilities, type EmbeddingHead, type FittedHead } from './heads/embedding.js';
export { fitLogistic, type LinearModel, type FeatureRows } from './heads/linear-probe.js';
export { pooledFeatures, type PooledFeatures } from './heads/features.js';
export { addClass, type AddClassResult } from './heads/add-class.js';
export { calibrationError, brierScore, fitTemperature, atTemperature, type ReliabilityBin } from './train/evaluate/calibration.js';
export { temperatureScale, type TemperatureResult } from './train/evaluate/temperature.js';
export { inspectFiles, inspectionCsv, type InspectRow, type Inspection } from './data-quality/inspect.js';
export { findLabelIssues, outOfFoldProbabilities, type LabelIssue } from './data-quality/label-issues.js';
export { scanLabelIssues, writeReviewList, type LabelIssueReport } from './data-quality/scan.js';
export { scanDuplicates, writeDuplicateList, DEFAULT_NEAR_THRESHOLD, type DuplicateGroup, type DuplicateReport } from './data-quality/duplicates.js';
export { readExclusionList } from './data/exclusions.js';
