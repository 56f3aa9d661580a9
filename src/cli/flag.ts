// One declaration per CLI flag: its name, how its text becomes a value, its --help line and the library option it
// sets. Commands list the flags they take; parseArgs' config, the --help text and the typed values all come from
// those lists (see command.ts), and docs/cli.md is generated from the --help they print.
import { UsageError } from '../errors.js';
import type { TrainOptions } from '../train/fit/fit.js';

export interface Flag<N extends string = string, T = unknown> {
  readonly name: N;
  readonly type: 'string' | 'boolean';
  /** What --help shows after the flag ('N', 'LAYER'); none for a switch. */
  readonly arg?: string;
  /** The --help text; each '\n' starts a continuation line, a leading '\n' puts the text under the flag. Empty:
   *  documented on another flag's line (--std on --mean's). */
  readonly help: string;
  /** Repeatable: the value is every occurrence, in order. */
  readonly multiple?: boolean;
  /** The flag's text as its value; throws a UsageError naming the flag. */
  readonly parse: (raw: string) => T;
  /** The training option the flag sets, where it sets one (the page's job requests carry it by this name). */
  readonly sets?: keyof TrainOptions;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of flags holds flags of every value type
export type AnyFlag = Flag<string, any>;
type ValueOf<F> = F extends Flag<string, infer T> ? T : never;

/** The values of a list of flags, by flag name, each of its own type. */
export type ValuesOf<F extends AnyFlag> = { readonly [K in F as K['name']]?: ValueOf<K> };

interface Extra {
  sets?: keyof TrainOptions;
}

/** A flag whose value is its text. */
export function text<const N extends string>(name: N, arg: string, help: string, extra: Extra = {}): Flag<N, string> {
  return { name, type: 'string', arg, help, parse: (raw) => raw, ...extra };
}

/** A repeatable text flag. */
export function texts<const N extends string>(name: N, arg: string, help: string): Flag<N, string[]> {
  return { name, type: 'string', arg, help, multiple: true, parse: (raw) => [raw] };
}

/** A switch: present or not. */
export function toggle<const N extends string>(name: N, help: string, extra: Extra = {}): Flag<N, boolean> {
  return { name, type: 'boolean', help, parse: () => true, ...extra };
}

/** A flag whose value is one of a few words. */
export function choice<const N extends string, const C extends string>(
  name: N,
  choices: readonly C[],
  arg: string,
  help: string,
  extra: Extra & { what?: string } = {},
): Flag<N, C> {
  const { what, ...rest } = extra;
  const list = what ?? `${choices.length > 2 ? `one of ${choices.join(', ')}` : choices.join(' or ')}`;
  return {
    name,
    type: 'string',
    arg,
    help,
    parse: (raw) => {
      const chosen = choices.find((c) => c === raw);
      if (chosen === undefined) throw new UsageError(`--${name} must be ${list}; got '${raw}'`);
      return chosen;
    },
    ...rest,
  };
}

/** The number `raw` says, or a UsageError naming the flag and what it takes. */
export function toNumber(name: string, raw: string, check: (n: number) => boolean, what: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${what}; got '${raw}'`);
  return n;
}

/** A number flag; `check` and `what` say which numbers it takes. */
export function num<const N extends string>(
  name: N,
  arg: string,
  help: string,
  check: (n: number) => boolean,
  what: string,
  extra: Extra = {},
): Flag<N, number> {
  return { name, type: 'string', arg, help, parse: (raw) => toNumber(name, raw, check, what), ...extra };
}

export const isPositiveInt = (n: number) => Number.isInteger(n) && n > 0;

/** A positive-integer flag. */
export const int = <const N extends string>(name: N, arg: string, help: string, extra: Extra = {}) =>
  num(name, arg, help, isPositiveInt, 'a positive integer', extra);

/** A number flag that may also say 'auto'. */
export function numOrAuto<const N extends string>(...args: Parameters<typeof num<N>>): Flag<N, number | 'auto'> {
  const [name, arg, help, check, what, extra] = args;
  const n = num(name, arg, help, check, `${what} or auto`, extra);
  return { ...n, parse: (raw) => (raw === 'auto' ? 'auto' : n.parse(raw)) };
}

/** A flag with its own parser. */
export function parsed<const N extends string, T>(name: N, arg: string, help: string, parse: (raw: string) => T, extra: Extra = {}): Flag<N, T> {
  return { name, type: 'string', arg, help, parse, ...extra };
}

/** The same flag with another --help line, for a command where it means something narrower. */
export function withHelp<F extends AnyFlag>(flag: F, help: string, arg = flag.arg): F {
  return { ...flag, help, arg };
}

/** A line of --help: a flag, literal text, or a number that sets the column flag help starts at from there on. */
export type HelpItem = AnyFlag | string | number;

/** The --help text of a list of items: flags padded to the column (31 unless a number says otherwise). */
export function renderHelp(items: readonly HelpItem[]): string {
  let column = 31;
  const lines: string[] = [];
  for (const item of items) {
    if (typeof item === 'number') column = item;
    else if (typeof item === 'string') lines.push(item);
    else if (item.help) {
      const left = `  --${item.name}${item.arg ? ` ${item.arg}` : ''}`;
      const [first, ...rest] = item.help.split('\n');
      const gap = left.length < column ? ' '.repeat(column - left.length) : '  ';
      lines.push(first === '' ? left : left + gap + first, ...rest.map((l) => ' '.repeat(column) + l));
    }
  }
  return lines.join('\n');
}

/** The flags among help items (and the extra ones a command takes without listing), each once. */
export function flagsOf(items: readonly HelpItem[]): AnyFlag[] {
  const byName = new Map<string, AnyFlag>();
  for (const item of items) if (typeof item === 'object' && !byName.has(item.name)) byName.set(item.name, item);
  return [...byName.values()];
}

/** parseArgs' raw strings (and booleans) through each flag's parser: the typed values. */
export function parseValues(flags: readonly AnyFlag[], raw: Record<string, string | boolean | (string | boolean)[] | undefined>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const f of flags) {
    const v = raw[f.name];
    if (v === undefined) continue;
    if (f.type === 'boolean') values[f.name] = v;
    else if (Array.isArray(v)) values[f.name] = v.flatMap((s) => f.parse(String(s)));
    else values[f.name] = f.parse(String(v));
  }
  return values;
}
