// The static page: pick weights and a folder, train in this tab (feature extraction, then a fine-tune when a layer
// is named), show validation accuracy.
import * as transferkit from '../../src/browser/index.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const log = (line: string) => {
  $('log').textContent += `${line}\n`;
};

// The library as the page uses it, for the console and for the browser tests (test/browser-web.test.ts).
Object.assign(globalThis, { transferkit });

async function train(signal: AbortSignal): Promise<void> {
  const weights = $<HTMLInputElement>('weights').files?.[0];
  const picked = $<HTMLInputElement>('folder').files;
  if (!weights || !picked?.length) throw new transferkit.TransferkitError('pick a weights file and a folder of class folders first');
  const size = Number($<HTMLInputElement>('size').value);
  await transferkit.configureOnnxRuntime({ wasmPaths: new URL('./ort/', location.href).href });
  log(`cross-origin isolated: ${crossOriginIsolated} (WebAssembly threads ${crossOriginIsolated ? 'on' : 'off'})`);
  const built = { size, alpha: Number($<HTMLSelectElement>('alpha').value) };
  const base = await transferkit.buildBase(weights, built);
  log(`base ${base.name}: ${base.countParams()} weights loaded from ${weights.name}`);
  const folder = transferkit.imageFolderFromFiles(picked as unknown as Iterable<transferkit.FolderFile>);
  log(`${folder.files.length} images in ${folder.classNames.length} classes (${folder.classNames.join(', ')}); ${folder.skipped.length} skipped`);
  const from = $<HTMLInputElement>('unfreeze-from').value.trim();
  const r = await transferkit.trainClassifier(base, folder, {
    ...(from ? { strategy: 'fine-tune' as const, unfreezeFrom: from } : {}),
    signal,
    onEvent: (e) => {
      if (e.type === 'epoch') log(`phase ${e.phase + 1} epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, val accuracy ${e.valAccuracy?.toFixed(4)}`);
      else if (e.type === 'notice') log(e.message);
      else if (e.type === 'features' && e.done === e.total) log(`features of ${e.total} images computed`);
    },
  });
  if (r.stopped) log(`stopped: ${r.stopped.reason} (kept the weights of epoch ${r.stopped.keptEpoch})`);
  log(`trained on ${r.counts.train}, validated on ${r.counts.validation} in ${r.timings.totalS.toFixed(1)} s`);
  for (const [i, p] of r.phases.entries())
    if (p.val?.loss != null) log(`phase ${i + 1} (from ${p.trainedFrom}): validation loss ${p.val.loss.toFixed(4)}, accuracy ${p.val.accuracy?.toFixed(4)}`);
  const download = $<HTMLAnchorElement>('download');
  download.href = URL.createObjectURL(await transferkit.modelFile(r, { ...built, weights: weights.name }));
  download.hidden = false;
  // The trained model, for the console and for the browser test that compares its predictions with Node's.
  Object.assign(globalThis, { trained: r });
  $('val-accuracy').textContent = r.val.accuracy === null ? 'no validation split' : r.val.accuracy.toFixed(4);
}

const button = $<HTMLButtonElement>('train');
const cancel = $<HTMLButtonElement>('cancel');
let controller: AbortController | undefined;
cancel.addEventListener('click', () => controller?.abort());
button.addEventListener('click', async () => {
  button.disabled = true;
  cancel.disabled = false;
  controller = new AbortController();
  try {
    await train(controller.signal);
  } catch (err) {
    log(`error: ${(err as Error).message}`);
    $('val-accuracy').textContent = 'error';
  } finally {
    button.disabled = false;
    cancel.disabled = true;
  }
});
