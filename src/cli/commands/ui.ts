import { command } from '../command.js';
import { num, text, texts, toggle } from '../flag.js';

const megabytes = <const N extends string>(name: N, help: string) => num(name, 'MB', help, (n) => n > 0, 'a positive number of MB');
import { startUi } from '../../ui/server.js';

export const uiCommand = command({
  name: 'ui',
  usage: '[--port 7860] [--host 127.0.0.1] [--root DIR] [--allow-host NAME]... [--no-token] [--max-upload MB] [--max-unpacked MB] [--max-image MB]',
  positionals: [0, 0],
  help: [
    `The server binds to loopback unless told otherwise; every dataset and model path it touches must lie inside
--root (default: the working directory). One training job runs at a time; a reloaded page re-attaches to it.
It prints its address with a random token (?token=…), new at every launch: open that address; the page keeps
the token in a cookie. Requests whose Host is not the bound address or localhost, and state-changing requests
from another origin, are refused. Uploaded zips unpack under uploads/ and are refused (413) past the limits.`,
    '',
    'Options:',
    22,
    num('port', 'N', 'port (default 7860; 0 picks a free one)', (n) => Number.isInteger(n) && n >= 0 && n < 65536, 'a port number'),
    text('host', 'H', 'address to bind (default 127.0.0.1)'),
    text('root', 'DIR', 'the folder the page may read and write (default: .)'),
    texts('allow-host', 'NAME', "another Host name to accept (repeatable), e.g. the machine's name with --host 0.0.0.0"),
    toggle('no-token', 'ask no token (anyone who can reach the port can use the UI)'),
    megabytes('max-upload', 'largest zip upload (default 200)'),
    megabytes('max-unpacked', 'most an upload may inflate to, in all (default 2000; never more than 20× the zip)'),
    megabytes('max-image', 'largest image "Try it" sends for its answer and Grad-CAM (default 50)'),
  ],
  async run(values) {
    const port = values.port ?? 7860;
    const { 'max-upload': maxUpload, 'max-unpacked': maxUnpacked, 'max-image': maxImage } = values;
    const ui = await startUi({
      root: values.root ?? process.cwd(),
      port,
      host: values.host,
      allowHosts: values['allow-host'] ?? [],
      token: !values['no-token'],
      ...(maxImage ? { maxTryImage: maxImage * 1e6 } : {}),
      limits: { ...(maxUpload ? { maxUpload: maxUpload * 1e6 } : {}), ...(maxUnpacked ? { maxUnpacked: maxUnpacked * 1e6 } : {}) },
    });
    process.stdout.write(`transferkit ui: ${ui.url}\n`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => void ui.close().then(resolve)).once('SIGTERM', () => void ui.close().then(resolve)));
  },
});
