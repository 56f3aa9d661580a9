import { TransferkitError } from '../errors.js';
import { seededRandom, shuffled } from '../util/random.js';
import type { LabelledFile } from './folders.js';

/**
 * Keras's `validation_split` with a seed: the files shuffled by the seed, the last fraction kept for validation.
 * The same seed gives the same split every time. `source` (the folder or CSV the files come from) leads an error.
 */
export function splitFiles(
  files: LabelledFile[],
  validationSplit: number,
  seed: number,
  source?: string,
): { train: LabelledFile[]; validation: LabelledFile[] } {
  if (!(validationSplit >= 0 && validationSplit < 1)) throw new TransferkitError(`validation split must be in [0, 1); got ${validationSplit}`);
  const order = shuffled(files, seededRandom(seed));
  const nVal = Math.floor(validationSplit * order.length);
  if (validationSplit > 0 && nVal === 0)
    throw new TransferkitError(
      `${source ? `${source}: ` : ''}a validation split of ${validationSplit} of ${files.length} usable images leaves no validation image; use more images or a larger split`,
    );
  return { train: order.slice(0, order.length - nVal), validation: order.slice(order.length - nVal) };
}
