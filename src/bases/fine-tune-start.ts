// The one check that fine-tuning says where it starts (apart from resolve.ts, which reads files: a browser runs this too).
import { TransferkitError, UsageError } from '../errors.js';
import type { Strategy } from '../train/shapes.js';

/**
 * The one check that fine-tuning says where it starts: a zoo layer (`unfreezeFrom`), a loaded model's layer, or
 * an ONNX base's cut (`{ onnx: file }`, named in the hint).
 */
export function checkFineTuneStart(strategy: Strategy | undefined, start: string | undefined, base: 'zoo' | 'saved' | { onnx: string } = 'zoo'): void {
  if (strategy !== 'fine-tune' || start) return;
  if (typeof base === 'object')
    throw new UsageError(
      `fine-tuning an ONNX base needs where to cut: --unfreeze-last-blocks N or --unfreeze-from BLOCK (see transferkit layers ${base.onnx})`,
    );
  throw new TransferkitError(
    base === 'saved'
      ? 'a loaded model fine-tunes: give --unfreeze-from LAYER (the first layer to train; see transferkit summary)'
      : 'the fine-tune strategy needs the layer to unfreeze from (--unfreeze-from LAYER; see transferkit layers)',
  );
}
