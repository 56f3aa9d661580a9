// The browser's twin of src/tfjs.ts (package.json "browser" swaps it in): tfjs's ES modules, since a browser
// cannot require the CommonJS bundles. The plain JavaScript backend registers itself here (twins/backend.ts selects it).
import '@tensorflow/tfjs-backend-cpu';

export * as tf from '@tensorflow/tfjs-core';
export * as tfl from '@tensorflow/tfjs-layers';
