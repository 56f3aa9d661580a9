#!/usr/bin/env node
import { UsageError } from '../errors.js';
import { commandFlags, helpText, parseCommand } from './command.js';
import { COMMANDS } from './commands/index.js';
import { mainHelp } from './reference.js';
import { applyDevice } from './device.js';

// Output piped into a reader that stops early (`| head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

async function main(argv: string[]): Promise<number> {
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
    if (process.env.TRANSFERKIT_DEBUG === '1') console.error(err);
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    const hint = err instanceof UsageError ? ` (see 'transferkit ${cmd ? cmd.name + ' ' : ''}--help')` : '';
    process.stderr.write(`transferkit${cmd ? ' ' + cmd.name : ''}: error: ${message}${hint}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
