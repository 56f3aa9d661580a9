// One CLI invocation as a function: what `transferkit ARGS` does, returning its exit code. main.ts calls it once;
// the fuzz suite's in-process runner calls it for many cases in one process (test/fuzz/inprocess-runner.ts).
import { UsageError } from '../errors.js';
import { commandFlags, helpText, parseCommand } from './command.js';
import { COMMANDS } from './commands/index.js';
import { applyDevice } from './device.js';
import { mainHelp } from './reference.js';

/**
 * Runs `transferkit ...argv`: 0 on success, 1 on an error (its first line printed as `transferkit CMD: error: …`),
 * 2 on a malformed command line. `onError` sees the error itself (the fuzz suite checks its class).
 */
export async function runCli(argv: string[], onError?: (err: unknown) => void): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  try {
    if (!cmd) throw new UsageError(`unknown command '${name}'; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    const command = await cmd.load();
    const parsed = parseCommand(command, rest);
    if (parsed === null) {
      process.stdout.write(helpText(cmd, command));
      return 0;
    }
    const { device } = parsed.values;
    if (commandFlags(command).some((f) => f.name === 'device')) applyDevice(typeof device === 'string' ? device : undefined);
    await command.run(parsed.values, parsed.positionals);
    return 0;
  } catch (err) {
    onError?.(err);
    if (process.env.TRANSFERKIT_DEBUG === '1') console.error(err);
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    const hint = err instanceof UsageError ? ` (see 'transferkit ${cmd ? cmd.name + ' ' : ''}--help')` : '';
    process.stderr.write(`transferkit${cmd ? ' ' + cmd.name : ''}: error: ${message}${hint}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
