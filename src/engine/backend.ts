import { createRequire } from 'node:module';
import path from 'node:path';
import { TransferkitError } from '../errors.js';
import { tf } from '../tfjs.js';
import { registerWasmConvGrads } from './kernels/conv-grads.js';

// Required, not imported: the CommonJS bundles load faster that way (see tfjs.ts).
const require = createRequire(import.meta.url);
require('@tensorflow/tfjs-backend-cpu');

/** The tfjs backends transferkit runs on. */
export type BackendName = 'wasm' | 'cpu';
const BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

let ready: Promise<BackendName> | undefined;

/** The backend asked for by `TRANSFERKIT_BACKEND`, else wasm. */
function requestedBackend(): BackendName {
  const env = process.env.TRANSFERKIT_BACKEND;
  if (env === undefined || env === '') return 'wasm';
  if (!(BACKENDS as readonly string[]).includes(env)) {
    throw new TransferkitError(`TRANSFERKIT_BACKEND=${env} is not a backend: use one of ${BACKENDS.join(', ')}`);
  }
  return env as BackendName;
}

async function setUp(wanted: BackendName): Promise<BackendName> {
  // PROD silences tfjs's console advice to install tfjs-node, which cannot be installed offline.
  tf.env().set('PROD', true);
  if (wanted === 'wasm') {
    // Imported here: a process that computes nothing in tfjs (ORT runs the model) never loads the wasm backend.
    const { setWasmPaths } = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
    let reason = 'it did not initialise';
    try {
      if (await tf.setBackend('wasm')) {
        registerWasmConvGrads();
        return 'wasm';
      }
    } catch (err) {
      reason = (err as Error).message.split('\n')[0];
    }
    process.stderr.write(`transferkit: the wasm backend is unavailable (${reason}); falling back to the slow cpu backend\n`);
  }
  await tf.setBackend('cpu');
  return 'cpu';
}

/**
 * Sets up the tfjs backend: wasm, else cpu with a notice; `TRANSFERKIT_BACKEND` or `preferred` chooses.
 * Set up once per process unless another backend is asked for by name.
 */
export async function initBackend(preferred?: BackendName): Promise<BackendName> {
  if (ready && (preferred === undefined || (await ready) === preferred)) return ready;
  ready = setUp(preferred ?? requestedBackend());
  return ready;
}
