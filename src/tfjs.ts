// tfjs ships CommonJS bundles. Required, they load in ~40 ms; imported as ES modules, Node first scans each
// bundle for its export names, ~100 ms more at every start of the CLI. The page's bundle swaps this file for
// ui/src/tfjs.ts, which imports them the ESM way (ui/vite.config.ts).
import tf = require('@tensorflow/tfjs-core');
import tfl = require('@tensorflow/tfjs-layers');

export { tf, tfl };
