// `npm run bench:accuracy` (or `node dist/bench/accuracy.js [--hymenoptera] [--pairs airplane:ship,...]
// [--paths auto,10,constant:10,...] [--seeds 1337,1,2] [--out F]`): how right training is by default and with the usual flags.
// Two CIFAR-10 classes (files 0000–0399 of each train, 0400–0999 are held out) with real MobileNet α=0.25
// weights at 96×96, and optionally the hymenoptera photos at 224×224 (train/ → val/); see probe.ts.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../src/index.js';
import { scratchDir } from '../src/util/fs.js';
import { H5, SHARED, linkSplit, measure } from './probe.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

async function main(): Promise<void> {
  if (!existsSync(H5)) throw new Error(`${H5} is missing: this benchmark needs ../shared`);
  await initBackend();
  const rows: unknown[] = [];
  const paths = (arg('--paths') ?? 'auto,10,8,20,constant:10').split(',').filter(Boolean);
  const seeds = arg('--seeds')?.split(',').map(Number) ?? [undefined];
  const pairs = (arg('--pairs') ?? 'airplane:ship,deer:truck,cat:dog,automobile:truck').split(',').map((p) => p.split(':'));
  for (const pair of pairs) {
    const tmp = scratchDir('tk-acc-links-');
    const train = linkSplit(path.join(tmp, 'train'), pair, 0, 400);
    const test = linkSplit(path.join(tmp, 'test'), pair, 400, 1000);
    rows.push(await measure(`cifar10 ${pair.join('/')}`, train, test, 96, paths, seeds));
  }
  if (process.argv.includes('--hymenoptera')) {
    const dir = path.join(SHARED, 'data', 'hymenoptera');
    rows.push(await measure('hymenoptera train → val', path.join(dir, 'train'), path.join(dir, 'val'), 224, paths, seeds));
  }
  const out = arg('--out');
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), paths, seeds, rows }, null, 2) + '\n');
}

await main();
