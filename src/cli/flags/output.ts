// Flags several commands take, each command with its own help line where the meaning narrows.
import { choice, text, toggle } from '../flag.js';

export const out = text('out', 'DIR', 'where to write');
export const json = toggle('json', 'print the result as JSON');
/** A review list the data-quality scans write, which train --exclude reads. */
export const fix = text('fix', 'FILE.csv', 'write a review list; train --exclude FILE.csv leaves out its rows not marked keep');
export const reliability = text('reliability', 'FILE.svg|png', 'draw the reliability diagram (accuracy against confidence, 15 bins)');
export const tta = toggle('tta', 'test-time augmentation: average over the image, mirrored, and zoomed in 10%');
export const subset = choice(
  'subset',
  ['all', 'training', 'validation'],
  'all|training|validation',
  'all images (default), or one side of the split the model was trained with',
  { what: 'all, training or validation' },
);
