// The training worker: the page's thread stays free while the base's features are computed and the steps run.
import * as transferkit from '../../src/browser/index.js';
import type { FromWorker, ToWorker } from './messages.js';

const post = (m: FromWorker) => postMessage(m);
const log = (line: string) => post({ type: 'log', line });
let trained: transferkit.BrowserTrainResult | undefined;
/** The files the page sent for the next run. */
let picked: Array<{ path: string; file: File }> = [];

/** The picked files with the paths the page read from them (a File sent to a worker loses webkitRelativePath). */
const folderFiles = (files: Array<{ path: string; file: File }>): transferkit.FolderFile[] =>
  files.map(({ path, file }) => Object.defineProperty(file, 'webkitRelativePath', { value: path }) as transferkit.FolderFile);

/** An AbortSignal as the epoch loop reads it (`aborted`, checked after every step), backed by the page's flag. */
const stopSignal = (flag: Int32Array) =>
  ({
    get aborted() {
      return Atomics.load(flag, 0) === 1;
    },
  }) as AbortSignal;

type Start = Extract<ToWorker, { type: 'train' }>;

/** A page line and a curve point per epoch (naming the strategy when compare trains several), progress as it goes. */
function onEvent(e: transferkit.TrainEvent): void {
  const of = 'strategy' in e && e.strategy ? `${e.strategy} ` : '';
  if (e.type === 'epoch') {
    log(`${of}phase ${e.phase + 1} epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, val accuracy ${e.valAccuracy?.toFixed(4)}`);
    post({ type: 'epoch', phase: e.phase, loss: e.loss, valLoss: e.valLoss, valAccuracy: e.valAccuracy });
  } else if (e.type === 'notice') log(e.message);
  else if (e.type === 'batch') {
    const text = `${of}phase ${e.phase + 1} epoch ${e.epoch} of ${e.epochs}, batch ${e.batch} of ${e.batches}`;
    post({ type: 'progress', of: 'epoch', done: (e.epoch - 1) * e.batches + e.batch, total: e.epochs * e.batches, text });
  } else if (e.type === 'features') {
    post({ type: 'progress', of: 'features', done: e.done, total: e.total, text: `${of}phase ${e.phase + 1}: features of ${e.done} of ${e.total} images` });
    if (e.done === e.total) log(`features of ${e.total} images computed`);
  }
}

/** ONNX Runtime set up, the base built from the picked weights, the picked folder listed. */
/** The files sent since the last run, handed over to this one. */
function taken(): Array<{ path: string; file: File }> {
  const files = picked;
  picked = [];
  return files;
}

async function prepare(m: Start) {
  await transferkit.configureOnnxRuntime({ wasmPaths: m.wasmPaths });
  log(
    `cross-origin isolated: ${crossOriginIsolated} (WebAssembly threads ${crossOriginIsolated ? 'on' : 'off'}); features kept in the Origin Private File System`,
  );
  const built = { size: m.size, alpha: m.alpha };
  if (onnxPicked(m.weights)) throw new transferkit.TransferkitError('Compare takes a Keras .h5 base for now; Train trains an ONNX base');
  const weights = typeof m.weights === 'string' ? await transferkit.fetchWeights(m.weights) : m.weights;
  if ('fromCache' in weights) log(`weights ${weights.name} ${weights.fromCache ? 'read from the cache' : `fetched from ${weights.url}`} (sha256 checked)`);
  const base = await transferkit.buildBase(weights, built);
  log(`base ${base.name}: ${base.countParams()} weights loaded from ${weights.name}`);
  const folder = await transferkit.screenFolder(transferkit.imageFolderFromFiles(folderFiles(taken())));
  log(`${folder.files.length} images in ${folder.classNames.length} classes (${folder.classNames.join(', ')}); ${folder.skipped.length} skipped`);
  const options = { signal: stopSignal(m.stop), featureStore: 'opfs' as const, onEvent };
  return { built, weights, base, folder, options };
}

/** An ONNX model picked as the base: a .onnx file, or a Transformers.js folder's files. */
const onnxPicked = (w: Start['weights']): w is File | Array<{ path: string; file: File }> =>
  Array.isArray(w) || (w instanceof File && w.name.toLowerCase().endsWith('.onnx'));

/** Node's `train --base model.onnx` in the page: the head on the base's features, then its last blocks when asked. */
async function trainOnnx(m: Start): Promise<void> {
  await transferkit.configureOnnxRuntime({ wasmPaths: m.wasmPaths });
  const base = await transferkit.onnxBase(Array.isArray(m.weights) ? folderFiles(m.weights) : (m.weights as File));
  const { size } = base.preprocessing;
  log(`ONNX base ${base.id}: ${size}×${size} pixels, features from ${base.features.value} (${base.features.rule})`);
  const folder = await transferkit.screenFolder(transferkit.imageFolderFromFiles(folderFiles(taken())));
  log(`${folder.files.length} images in ${folder.classNames.length} classes (${folder.classNames.join(', ')}); ${folder.skipped.length} skipped`);
  // The fine-tune field: a block's name, or a number of last blocks (Node's --unfreeze-last-blocks).
  const from = m.unfreezeFrom;
  const fineTune = from ? { strategy: 'fine-tune' as const, ...(/^\d+$/.test(from) ? { lastBlocks: Number(from) } : { unfreezeFrom: from }) } : {};
  const r = await transferkit.trainOnnxClassifier(base, folder, { ...fineTune, signal: stopSignal(m.stop), featureStore: 'opfs', onEvent });
  report(r, folder);
  // Its model is the head on the base's features: the page's predict (pixels in) does not apply to it.
  trained = undefined;
  post({
    type: 'done',
    accuracy: r.val.accuracy,
    run: { history: r.history, val: r.val, classNames: r.classNames },
    models: { folder: await transferkit.onnxModelFile(r, base, 'folder'), onnx: await transferkit.onnxModelFile(r, base, 'onnx') },
  });
}

/** The run's last lines: why it stopped, its counts and time, each phase's scores, the skipped files. */
function report(r: transferkit.BrowserTrainResult, folder: { skipped: Array<{ file: string; reason: string }> }): void {
  if (r.stopped) log(`stopped: ${r.stopped.reason} (kept the weights of epoch ${r.stopped.keptEpoch})`);
  log(`trained on ${r.counts.train}, validated on ${r.counts.validation} in ${r.timings.totalS.toFixed(1)} s`);
  for (const [i, p] of r.phases.entries())
    if (p.val?.loss != null) log(`phase ${i + 1} (from ${p.trainedFrom}): validation loss ${p.val.loss.toFixed(4)}, accuracy ${p.val.accuracy?.toFixed(4)}`);
  for (const f of folder.skipped) log(`skipped ${f.file}: ${f.reason}`);
  trained = r;
}

async function train(m: Start): Promise<void> {
  if (onnxPicked(m.weights)) return trainOnnx(m);
  const { built, weights, base, folder, options } = await prepare(m);
  const r = await transferkit.trainClassifier(base, folder, {
    ...(m.unfreezeFrom ? { strategy: 'fine-tune' as const, unfreezeFrom: m.unfreezeFrom } : {}),
    ...options,
    checkpoints: await transferkit.opfsCheckpoints(),
    resume: m.action === 'resume',
  });
  report(r, folder);
  const made = { ...built, weights: weights.name };
  const model = (format: 'keras' | 'folder' | 'tfjs' | 'onnx') => transferkit.modelFile(r, made, format);
  post({
    type: 'done',
    accuracy: r.val.accuracy,
    run: { history: r.history, val: r.val, classNames: r.classNames },
    models: { keras: await model('keras'), folder: await model('folder'), tfjs: await model('tfjs'), onnx: await model('onnx') },
  });
}

async function compare(m: Start): Promise<void> {
  const { built, weights, folder, options } = await prepare(m);
  // Each strategy starts from a base built afresh from the picked weights (a fine-tune changes the base it trains).
  const comparison = await transferkit.compareStrategies(() => transferkit.buildBase(weights, built), folder, { ...options, unfreezeFrom: m.unfreezeFrom });
  post({ type: 'compared', comparison });
}

async function predict(x: Float32Array, n: number): Promise<void> {
  if (!trained) throw new transferkit.TransferkitError('nothing trained on a Keras base yet (a model on an ONNX base: download model.onnx)');
  const predictor = await transferkit.createPredictor(trained.model, { engine: 'ort' });
  try {
    post({ type: 'predicted', y: await predictor.predict(x, n) });
  } finally {
    await predictor.dispose();
  }
}

/** Try images: each picked image decoded and preprocessed as training read its images, then classified. */
async function classify(files: File[]): Promise<void> {
  if (!trained) throw new transferkit.TransferkitError('train on a Keras base first: try images uses the model trained in this page');
  const answers = await transferkit.classifyImages(trained, files);
  post({ type: 'classified', answers: answers.map((a, i) => ({ name: files[i].name, ...a })) });
}

addEventListener('message', async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  try {
    if (m.type === 'files') return void picked.push(...m.files);
    if (m.type === 'predict') return await predict(m.x, m.n);
    if (m.type === 'classify') return await classify(m.files);
    await (m.action === 'compare' ? compare(m) : train(m));
  } catch (err) {
    post({ type: 'error', message: (err as Error).message });
  }
});
