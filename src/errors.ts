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
