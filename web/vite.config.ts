import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Plugin, defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here('..');

/**
 * The package's "browser" field (dist paths) read as source paths: each Node module the browser build swaps
 * for its twin. One list serves both the page built here and a user's bundler.
 */
function twins(): Map<string, string> {
  const browser = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).browser as Record<string, string>;
  const source = (p: string) => path.join(root, p.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'));
  return new Map(Object.entries(browser).map(([node, twin]) => [source(node), source(twin)]));
}

/** Swaps in the twins, and fails the build on any Node built-in that still comes in (naming who imports it). */
function browserOnly(): Plugin {
  const map = twins();
  const builtins = new Set(builtinModules);
  return {
    name: 'transferkit-browser-only',
    enforce: 'pre',
    async resolveId(source, importer) {
      // Our own code only: dependencies (tfjs, seedrandom) test for Node at run time and bundle with a stub.
      const ours = importer?.startsWith(path.join(root, 'src')) || importer?.startsWith(here('.'));
      if (ours && (source.startsWith('node:') || builtins.has(source.split('/')[0])))
        this.error(`${path.relative(root, importer ?? '?')} imports the Node built-in '${source}': the browser build has none`);
      if (!source.endsWith('.js')) return null;
      const resolved = await this.resolve(source, importer, { skipSelf: true });
      return (resolved && map.get(resolved.id)) ?? null;
    },
  };
}

/** ONNX Runtime Web's WebAssembly files beside the page (it loads them from `wasmPaths`, here ./ort/). */
function ortWasm(outDir: string): Plugin {
  const dist = path.join(root, 'node_modules/onnxruntime-web/dist');
  return {
    name: 'ort-wasm-files',
    writeBundle() {
      mkdirSync(path.join(outDir, 'ort'), { recursive: true });
      for (const f of [
        'ort-wasm-simd-threaded.mjs',
        'ort-wasm-simd-threaded.wasm',
        'ort-wasm-simd-threaded.asyncify.mjs',
        'ort-wasm-simd-threaded.asyncify.wasm',
      ])
        copyFileSync(path.join(dist, f), path.join(outDir, 'ort', f));
    },
  };
}

const outDir = path.join(root, 'dist/web');

// `npm run build:web`: a static folder (dist/web) that trains in the browser; any static server serves it.
export default defineConfig({
  root: here('.'),
  base: './',
  plugins: [browserOnly(), ortWasm(outDir)],
  // The training worker is bundled on its own, with the same twins.
  worker: { format: 'es', plugins: () => [browserOnly()] },
  publicDir: false,
  // ONNX Runtime Web's build that loads its .wasm from wasmPaths rather than one inlined in the bundle.
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', 'browser', 'import', 'module', 'default'] },
  build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 8000, target: 'es2022' },
  logLevel: 'warn',
});
