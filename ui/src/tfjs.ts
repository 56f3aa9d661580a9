// The page's tfjs: the library's src/tfjs.ts requires the CommonJS bundles, which a browser cannot; vite
// swaps that file for this one (vite.config.ts).
export * as tf from '@tensorflow/tfjs-core';
export * as tfl from '@tensorflow/tfjs-layers';
