// The browser's twin of src/engine/backend.ts: tfjs only builds models and holds their weights here (ONNX
// Runtime Web computes), so its plain JavaScript backend (registered by twins/tfjs.ts) is enough.
import type * as node from '../../engine/backend.js';
import { tf } from '../../tfjs.js';

export type BackendName = node.BackendName;

let ready: Promise<BackendName> | undefined;

export const initBackend: typeof node.initBackend = () => {
  ready ??= (async () => {
    tf.env().set('PROD', true);
    await tf.setBackend('cpu');
    return 'cpu' as const;
  })();
  return ready;
};
