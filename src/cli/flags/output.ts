// Where a command writes, and its JSON switch: every command has them, each with its own help line.
import { choice, text, toggle } from '../flag.js';

export const out = text('out', 'DIR', 'where to write');
export const json = toggle('json', 'print the result as JSON');
export const reliability = text('reliability', 'FILE.svg|png', 'draw the reliability diagram (accuracy against confidence, 15 bins)');
export const tta = toggle('tta', 'test-time augmentation: average over the image, mirrored, and zoomed in 10%');
export const subset = choice(
  'subset',
  ['all', 'training', 'validation'],
  'all|training|validation',
  'all images (default), or one side of the split the model was trained with',
  { what: 'all, training or validation' },
);
