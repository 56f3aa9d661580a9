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

/** The library's src/tfjs.ts requires tfjs (fast in Node); the page takes the ESM twin in ui/src/tfjs.ts. */
function browserTfjs(): Plugin {
  const nodeTfjs = here('../src/tfjs.ts');
  return {
    name: 'browser-tfjs',
    enforce: 'pre',
    async resolveId(source, importer) {
      if (!source.endsWith('/tfjs.js')) return null;
      const resolved = await this.resolve(source, importer, { skipSelf: true });
      return resolved?.id === nodeTfjs ? here('src/tfjs.ts') : null;
    },
  };
}

// The page is built into dist/ui, which `transferkit ui` serves.
export default defineConfig({
  root: here('.'),
  plugins: [preact(), browserTfjs(), tfjsWasmBinaries()],
  publicDir: false,
  build: { outDir: here('../dist/ui'), emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  logLevel: 'warn',
});
