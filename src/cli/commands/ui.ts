import { type Command, numberOption } from '../command.js';
import { startUi } from '../../ui/server.js';

export const uiCommand: Command = {
  name: 'ui',
  usage: '[--port 7860] [--host 127.0.0.1] [--root DIR]',
  positionals: [0, 0],
  options: { port: { type: 'string' }, host: { type: 'string' }, root: { type: 'string' } },
  help: `
The server binds to loopback unless told otherwise; every dataset and model path it touches must lie inside
--root (default: the working directory). One training job runs at a time; a reloaded page re-attaches to it.

Options:
  --port N       port (default 7860; 0 picks a free one)
  --host H       address to bind (default 127.0.0.1)
  --root DIR     the folder the page may read and write (default: .)`,
  async run(values) {
    const port = numberOption(values, 'port', (n) => Number.isInteger(n) && n >= 0 && n < 65536, 'a port number') ?? 7860;
    const ui = await startUi({ root: (values.root as string | undefined) ?? process.cwd(), port, host: values.host as string | undefined });
    process.stdout.write(`transferkit ui: ${ui.url}\n`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => void ui.close().then(resolve)).once('SIGTERM', () => void ui.close().then(resolve)));
  },
};
