// `npm run docs:cli`: writes docs/cli.md from the CLI's own --help texts.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliReference } from '../src/cli/reference.js';
import { writeFileAtomic } from '../src/util/fs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const file = path.join(root, 'docs', 'cli.md');
await fsp.mkdir(path.dirname(file), { recursive: true });
await writeFileAtomic(file, await cliReference());
process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
