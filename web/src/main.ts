// The static page: pick weights and a folder, train in a worker of this tab (feature extraction, then a fine-tune
// when a layer is named), show validation accuracy, offer the model as a download.
import * as transferkit from '../../src/browser/index.js';
import { showComparison } from './compare-view.js';
import { onFolderDrop } from './drop.js';
import type { FromWorker, ToWorker } from './messages.js';
import { type EpochPoint, showAnswers, showCurves, showProgress, showReport } from './train-view.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const log = (line: string) => {
  $('log').textContent += `${line}\n`;
};
const button = $<HTMLButtonElement>('train');
const cancel = $<HTMLButtonElement>('cancel');

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (m: ToWorker) => worker.postMessage(m);
let predicted: ((y: Float32Array) => void) | undefined;

/** The trained model's outputs on n inputs, computed in the worker (for the browser test). */
const predictTrained = (x: Float32Array, n: number) =>
  new Promise<Float32Array>((resolve) => {
    predicted = resolve;
    send({ type: 'predict', x, n });
  });

// The library and the trained model, for the console and for the browser tests (test/browser-web.test.ts).
Object.assign(globalThis, { transferkit, predictTrained });

const resume = $<HTMLButtonElement>('resume');
const compare = $<HTMLButtonElement>('compare-button');

function finish(accuracy: string): void {
  $('val-accuracy').textContent = accuracy;
  button.disabled = false;
  compare.disabled = false;
  cancel.disabled = true;
  void offerResume();
}

/** A run cut short by a reload left a checkpoint in this browser: offer to continue it. */
async function offerResume(): Promise<void> {
  const kept = await (await transferkit.opfsCheckpoints()).latest();
  resume.hidden = !kept;
  resume.disabled = !kept;
  $('resume-note').textContent = kept
    ? `a run was cut short after phase ${kept.phase + 1} epoch ${kept.loop.history.at(-1)?.epoch}: pick the same weights and folder, then Resume`
    : '';
}
void offerResume();

/** This run's epochs, the curves' points. */
let points: EpochPoint[] = [];

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  if (m.type === 'log') log(m.line);
  else if (m.type === 'epoch') {
    points.push({ phase: m.phase, loss: m.loss, valLoss: m.valLoss, valAccuracy: m.valAccuracy });
    showCurves(points);
  } else if (m.type === 'progress') showProgress(m.of === 'features' ? 'features-progress' : 'epoch-progress', m.done, m.total, m.text);
  else if (m.type === 'classified') showAnswers(m.answers);
  else if (m.type === 'predicted') predicted?.(m.y);
  else if (m.type === 'error') {
    log(`error: ${m.message}`);
    finish('error');
  } else if (m.type === 'compared') {
    showComparison($('compare'), m.comparison);
    finish('compared (table below)');
  } else {
    for (const format of ['keras', 'folder', 'tfjs', 'onnx'] as const) {
      const link = $<HTMLAnchorElement>(format === 'keras' ? 'download' : `download-${format}`);
      const blob = m.models[format];
      // An ONNX base's model has no Keras or tfjs form: those links hide.
      (link.parentElement as HTMLElement).hidden = !blob;
      if (blob) link.href = URL.createObjectURL(blob);
    }
    $('downloads').hidden = false;
    if (m.run.val.report) showReport(m.run.classNames, m.run.val.report);
    // Try images needs the model in the worker: a Keras base's (an ONNX base's has no download for Keras either).
    $('try').hidden = !m.models.keras;
    Object.assign(globalThis, { lastRun: m.run });
    finish(m.accuracy === null ? 'no validation split' : m.accuracy.toFixed(4));
  }
};

// Shared memory needs a cross-origin isolated page; without it Stop has no flag to set and stays disabled.
const stop = typeof SharedArrayBuffer === 'function' && crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
cancel.addEventListener('click', () => stop && Atomics.store(stop, 0, 1));
/** Files per message to the worker: cloning 10,000 Files in one message held the page's thread for 1.3 s. */
const FILES_PER_MESSAGE = 500;

async function start(action: 'train' | 'resume' | 'compare'): Promise<void> {
  const onnxFolder = Array.from($<HTMLInputElement>('onnx-folder').files ?? [], (file) => ({ path: file.webkitRelativePath, file }));
  const weights =
    $<HTMLInputElement>('weights').files?.[0] ?? (onnxFolder.length ? onnxFolder : undefined) ?? ($<HTMLInputElement>('weights-url').value.trim() || undefined);
  const chosen = Array.from($<HTMLInputElement>('folder').files ?? [], (file) => ({ path: file.webkitRelativePath || file.name, file }));
  const picked = dropped ?? chosen;
  if (!weights || !picked.length) {
    log('error: pick a weights file or ONNX model (or give its URL) and a folder of class folders first');
    return;
  }
  button.disabled = true;
  points = [];
  $('report').hidden = true;
  $('try').hidden = true;
  resume.disabled = true;
  compare.disabled = true;
  cancel.disabled = !stop;
  if (stop) Atomics.store(stop, 0, 0);
  for (let i = 0; i < picked.length; i += FILES_PER_MESSAGE) {
    send({ type: 'files', files: picked.slice(i, i + FILES_PER_MESSAGE) });
    // The page's thread free between parts (clicks, the progress log).
    await new Promise((resolve) => setTimeout(resolve));
  }
  send({
    type: 'train',
    wasmPaths: new URL('./ort/', location.href).href,
    weights,
    size: Number($<HTMLInputElement>('size').value),
    alpha: Number($<HTMLSelectElement>('alpha').value),
    unfreezeFrom: $<HTMLInputElement>('unfreeze-from').value.trim(),
    action,
    stop: stop ?? new Int32Array(1),
  });
}
/** A folder dropped on the page: used instead of the folder picker's until a folder is picked again. */
let dropped: Array<{ path: string; file: File }> | undefined;
onFolderDrop(document.body, (files, name) => {
  dropped = files;
  log(`dropped ${name}: ${files.length} files (used instead of the picked folder)`);
});
$('folder').addEventListener('change', () => {
  dropped = undefined;
});
button.addEventListener('click', () => void start('train'));
$<HTMLInputElement>('try-images').addEventListener('change', (e) => {
  const files = Array.from((e.target as HTMLInputElement).files ?? []);
  if (files.length) send({ type: 'classify', files });
});
resume.addEventListener('click', () => void start('resume'));
compare.addEventListener('click', () => void start('compare'));
