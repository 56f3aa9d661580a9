import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

/** One CLI command: its help text, its flags, and a run function that calls the library. */
export interface Command {
  name: string;
  /** The full `--help` text after the usage line. */
  help: string;
  usage: string;
  options: Options;
  /** Number of positional arguments: [min, max]. */
  positionals: [number, number];
  run(values: Values, positionals: string[]): Promise<void>;
}

/** A command as `transferkit --help` lists it; its module (and what that imports) loads only when it runs. */
export interface CommandEntry {
  name: string;
  /** One line for `transferkit --help`. */
  summary: string;
  load(): Promise<Command>;
}

export function helpText(entry: CommandEntry, cmd: Command): string {
  return `Usage: transferkit ${cmd.name} ${cmd.usage}\n\n${entry.summary}\n\n${cmd.help.trim()}\n`;
}

/** Parses argv for `cmd`; a malformed line is a UsageError (exit 2). Returns null when `--help` was asked. */
export function parseCommand(cmd: Command, argv: string[]): { values: Values; positionals: string[] } | null {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    // Node's wording for `--epochs -2`: say what to type instead.
    const ambiguous = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(message);
    if (ambiguous) {
      const flag = ambiguous[1];
      const value = argv[argv.indexOf(flag) + 1];
      throw new UsageError(`${flag} ${value}: a value that starts with '-' is written ${flag}=${value}`);
    }
    throw new UsageError(message);
  }
  if (parsed.values.help) return null;
  const [min, max] = cmd.positionals;
  if (parsed.positionals.length < min) throw new UsageError(`missing argument: transferkit ${cmd.name} ${cmd.usage}`);
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument '${parsed.positionals[max]}'`);
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

/** A flag's value as a number, or a UsageError naming the flag. */
export function numberOption(values: Values, name: string, check: (n: number) => boolean, what: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || !check(n)) {
    throw new UsageError(`--${name} must be ${what}; got '${raw}'`);
  }
  return n;
}

/** Prints data as JSON on stdout. */
export function printJson(data: unknown): void {
  process.stdout.write(JSON.stringify(data, null, 2) + '\n');
}
