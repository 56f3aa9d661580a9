/** An error the user can act on: its message is one line that names the problem and the fix. */
export class TransferkitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransferkitError';
  }
}

/** A malformed command line: the CLI exits with code 2 and points at `--help`. */
export class UsageError extends TransferkitError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A library's error as a reason to quote after a file's name: its first line, or, for a JavaScript internal (a
 * TypeError or RangeError: the library tripping over damaged structure, in its own variables' names) or a
 * WebAssembly trap (a wasm decoder's panic: "unreachable"), what that means for the file.
 */
export function reasonOf(err: unknown): string {
  if (err instanceof TypeError || err instanceof RangeError || err instanceof WebAssembly.RuntimeError) return 'its structure is damaged';
  // The same from a worker thread: its uncaught errors arrive re-created, keeping only their name and message.
  if (err instanceof Error && ['TypeError', 'RangeError', 'RuntimeError'].includes(err.name)) return 'its structure is damaged';
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
