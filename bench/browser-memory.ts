// `node dist/bench/browser-memory.js [--images=2500,5000,10000]`: the static page (npm run build:web) trains on
// CIFAR-10 test images of all 10 classes (features in the Origin Private File System) while Chromium's memory is
// sampled (every process the DevTools Protocol lists, proportional set size from /proc) and a timer on the page's
// thread measures its stalls; one run per size, to show the peak stays flat as the set grows. Writes
// bench/results/<date>-browser-memory.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CIFAR_CLASSES, classFolder } from '../test/browser.js';
import { type PageRun, trainWatched } from '../test/page-memory.js';
import { serveStatic } from '../test/static-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SIZES = (process.argv.find((a) => a.startsWith('--images='))?.slice(9) ?? '2500,5000,10000').split(',').map(Number);

async function main(): Promise<void> {
  const web = path.join(ROOT, 'dist', 'web');
  if (!existsSync(path.join(web, 'index.html'))) throw new Error(`${web} is missing: run npm run build:web`);
  const server = await serveStatic(web);
  const runs: Array<Omit<PageRun, 'log'>> = [];
  try {
    for (const images of SIZES) {
      const folder = classFolder(CIFAR_CLASSES, Math.ceil(images / CIFAR_CLASSES.length));
      const { log: _, ...run } = await trainWatched(server.url, folder, { images });
      process.stdout.write(
        `${images} images: Chromium ${run.beforeMiB} MiB before training, peak ${run.peakMiB} MiB; stalls over 100 ms ${JSON.stringify(run.stalls)} (ms, s after Train); ${run.trainS} s; validation accuracy ${run.accuracy}\n`,
      );
      runs.push(run);
    }
  } finally {
    server.close();
  }
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}-browser-memory.json`);
  const method =
    "Chromium's processes listed by the DevTools Protocol (SystemInfo.getProcessInfo), each one's Pss from /proc/<pid>/smaps_rollup, summed, sampled every 200 ms from Train pressed to the accuracy shown; MobileNet α 0.25 at 96×96, real weights, feature extraction with the page's defaults, features in OPFS; stalls: the longest gap between ticks of a 20 ms timer on the page's thread";
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), method, runs }, null, 2)}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
