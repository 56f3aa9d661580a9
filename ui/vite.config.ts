import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { type Plugin, defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** tfjs-wasm's binaries beside the page (the "try it" box loads them from /). */
function tfjsWasmBinaries(): Plugin {
  const dir = here('../node_modules/@tensorflow/tfjs-backend-wasm/dist');
  return {
    name: 'tfjs-wasm-binaries',
    generateBundle() {
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.wasm')))
        this.emitFile({ type: 'asset', fileName: f, source: readFileSync(path.join(dir, f)) });
    },
  };
}

// The page is built into dist/ui, which `transferkit ui` serves.
export default defineConfig({
  root: here('.'),
  plugins: [preact(), tfjsWasmBinaries()],
  publicDir: false,
  build: { outDir: here('../dist/ui'), emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  logLevel: 'warn',
});
