import { PREPROCESS_MODES } from '../../data/preprocess.js';
import { choice, text } from '../flag.js';

/** A saved model given by --model (a transferkit folder, or a Keras model.keras / model.h5) and its scaling. */
export const model = text(
  'model',
  'DIR|FILE.keras|FILE.h5',
  `the model, instead of the first argument: a transferkit model folder, or a
Keras full model (Keras 3 .keras, Keras 2 .h5); images follow its input
(28x28x1 grayscale; no channel axis: HxW)`,
);

export const preprocessing = choice(
  'preprocessing',
  PREPROCESS_MODES,
  'MODE',
  `caffe|tf|torch|unit|none: how images are scaled (unit = x/255, none = raw 0-255);
needed for a Keras model unless it nests a keras.applications base`,
  { what: `one of ${PREPROCESS_MODES.join(', ')}` },
);

export const SAVED_MODEL = [model, preprocessing] as const;
