import type { TrainEvent } from '../train/fit/fit.js';
import { ProgressBar } from '../util/progress.js';

/** Renders the library's training events as progress bars and Keras-style epoch lines on stderr. */
export function progress(): (e: TrainEvent) => void {
  let bar: ProgressBar | undefined;
  let seen = 0;
  return (e) => {
    if (e.type === 'notice') process.stderr.write(`transferkit: ${e.message}\n`);
    if (e.type === 'features') {
      if (!bar) {
        bar = new ProgressBar({ label: `Phase ${e.phase + 1}: caching the frozen part's outputs`, total: e.total });
        seen = 0;
      }
      bar.tick(e.done - seen);
      seen = e.done;
      if (e.done >= e.total) {
        bar.finish();
        bar = undefined;
      }
    }
    // Batch bars only on a terminal: in a log the epoch lines say enough.
    if (e.type === 'batch' && process.stderr.isTTY) {
      if (!bar) {
        bar = new ProgressBar({ label: `Epoch ${e.epoch}/${e.epochs}`, total: e.batches });
        seen = 0;
      }
      bar.tick(e.batch - seen);
      seen = e.batch;
    }
    if (e.type === 'epoch') {
      bar?.finish();
      bar = undefined;
      const metrics = (prefix: string, loss: number, accuracy: number | null, mae?: number | null) =>
        ` - ${prefix}loss: ${loss.toFixed(4)}` +
        (accuracy !== null ? ` - ${prefix}accuracy: ${accuracy.toFixed(4)}` : ` - ${prefix}mae: ${(mae as number).toFixed(4)}`);
      const val = e.valLoss === null ? '' : metrics('val_', e.valLoss, e.valAccuracy, e.valMae);
      process.stderr.write(`Epoch ${e.epoch}/${e.epochs}${metrics('', e.loss, e.accuracy, e.mae)}${val}\n`);
    }
  };
}
