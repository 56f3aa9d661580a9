import { TransferkitError } from '../../errors.js';
import { ENGINES, type EngineName } from '../../engine/predictor.js';
import { parsed, text } from '../flag.js';

/** Where models run: ORT by default, tfjs-wasm where ORT does not load. */
export const engine = parsed(
  'engine',
  'ort|wasm|cpu',
  'where the model runs (default ort, else wasm if ORT does not load; TRANSFERKIT_ENGINE)',
  (raw): EngineName => {
    const name = ENGINES.find((e) => e === raw);
    // The library's own wording and exit status, as when TRANSFERKIT_ENGINE names no engine.
    if (!name) throw new TransferkitError(`unknown engine '${raw}': use one of ${ENGINES.join(', ')}`);
    return name;
  },
  { sets: 'engine' },
);

/** ort's device; checked by applyDevice, which also reads TRANSFERKIT_DEVICE. */
export const device = text(
  'device',
  'auto|cuda|cpu',
  `ort's device: CUDA where its provider is installed and a GPU is present (auto,
the default), else the CPU; cuda says in one line when it falls back (TRANSFERKIT_DEVICE)`,
);

export const ENGINE = [engine, device] as const;
