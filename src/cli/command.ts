import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { type AnyFlag, type HelpItem, type ValuesOf, flagsOf, parseValues, renderHelp } from './flag.js';

/** One CLI command: its flags and help text in order, and a run function that calls the library. */
export interface Command {
  name: string;
  usage: string;
  /** The `--help` text after the usage line and summary: flags (each rendered from its declaration) and text. */
  help: readonly HelpItem[];
  /** Flags the command takes without listing them in its --help (compare takes all of train's). */
  also?: readonly AnyFlag[];
  /** Number of positional arguments: [min, max]. */
  positionals: [number, number];
  run(values: Record<string, unknown>, positionals: string[]): Promise<void>;
}

/** A command whose run gets its flags' values typed from their declarations. */
export function command<const H extends readonly HelpItem[], const X extends readonly AnyFlag[] = []>(spec: {
  name: string;
  usage: string;
  positionals: [number, number];
  help: H;
  also?: X;
  run(values: ValuesOf<Extract<H[number] | X[number], AnyFlag>>, positionals: string[]): Promise<void>;
}): Command {
  // parseValues built the values from exactly these flags' parsers.
  return { ...spec, run: (values, positionals) => spec.run(values as ValuesOf<Extract<H[number] | X[number], AnyFlag>>, positionals) };
}

/** Every flag a command takes. */
export const commandFlags = (cmd: Command): AnyFlag[] => flagsOf([...cmd.help, ...(cmd.also ?? [])]);

/** A command as `transferkit --help` lists it; its module (and what that imports) loads only when it runs. */
export interface CommandEntry {
  name: string;
  /** One line for `transferkit --help`. */
  summary: string;
  load(): Promise<Command>;
}

export function helpText(entry: CommandEntry, cmd: Command): string {
  return `Usage: transferkit ${cmd.name} ${cmd.usage}\n\n${entry.summary}\n\n${renderHelp(cmd.help).trim()}\n`;
}

/** Parses argv for `cmd`; a malformed line is a UsageError (exit 2). Returns null when `--help` was asked. */
export function parseCommand(cmd: Command, argv: string[]): { values: Record<string, unknown>; positionals: string[] } | null {
  const flags = commandFlags(cmd);
  const options = Object.fromEntries(flags.map((f) => [f.name, { type: f.type, ...(f.multiple ? { multiple: true } : {}) }]));
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
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
  return { values: parseValues(flags, parsed.values), positionals: parsed.positionals };
}

/** Prints data as JSON on stdout. */
export function printJson(data: unknown): void {
  process.stdout.write(JSON.stringify(data, null, 2) + '\n');
}
