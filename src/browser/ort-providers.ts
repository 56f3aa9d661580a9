// Which ONNX Runtime Web execution providers the page's sessions ask for: WebAssembly (default), or WebGPU then
// WebAssembly (ORT Web runs each op WebGPU lacks on WebAssembly). Asking for WebGPU where the browser has none (no
// navigator.gpu, or no adapter) falls back to WebAssembly with a notice, not an error.

/** An ONNX Runtime Web execution provider the page may ask for. */
export type ExecutionProvider = 'webgpu' | 'wasm';

let providers: readonly ExecutionProvider[] = ['wasm'];

/** The providers sessions are created with. */
export const executionProviders = (): readonly ExecutionProvider[] => providers;

/** Sets the providers, dropping WebGPU where this browser has no adapter; the providers kept and why one was dropped. */
export async function useExecutionProviders(wanted: readonly ExecutionProvider[]): Promise<{ executionProviders: ExecutionProvider[]; notice?: string }> {
  let notice: string | undefined;
  let kept = [...new Set(wanted)];
  if (kept.includes('webgpu')) {
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
    const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
    if (!adapter) {
      kept = kept.filter((p) => p !== 'webgpu');
      notice = `WebGPU is not available in this browser (${gpu ? 'no adapter' : 'no navigator.gpu'}): ONNX Runtime runs on WebAssembly`;
    }
  }
  if (!kept.includes('wasm')) kept.push('wasm');
  providers = kept;
  return { executionProviders: kept, ...(notice ? { notice } : {}) };
}
