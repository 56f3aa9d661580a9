// How images other than 8-bit RGB become a base's input: GeoTIFF bands, grayscale.
import { BAND_ADAPTATIONS } from '../../applications/bands.js';
import { choice, text } from '../flag.js';

export const bands = text('bands', 'SPEC', 'bands to train on: 4,3,2 (1-based), B04,B03,B02 (Sentinel-2 names) or all', { sets: 'bands' });
export const bandScale = text(
  'band-scale',
  'S',
  `percentile:2,98 (default), minmax or divide:10000; statistics from the
training split, saved with the model so predict scales the same way`,
  { sets: 'bandScale' },
);
export const bandAdaptation = choice(
  'band-adaptation',
  BAND_ADAPTATIONS,
  'M',
  `rgb (three colour bands) | repeat-mean (extra bands start from the mean RGB
kernel, scaled by 3/bands) | random; required for other than three bands`,
  { sets: 'bandAdaptation' },
);
export const grayToRgb = choice(
  'gray-to-rgb',
  ['repeat', 'sum'],
  'repeat|sum',
  `grayscale images into an RGB base: repeat the channel (default), or a one-channel
model whose first convolution sums the RGB kernels (the same answer, a third of the input)`,
  { sets: 'grayToRgb' },
);
