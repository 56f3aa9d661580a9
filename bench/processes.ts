// Whole-process workloads: how long a command takes from the shell's point of view (start-up, end to end).
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { type Paired, SETTLE_MS, median, paired, peerEnv, timeProcess } from './peer.js';
import { scratchDir } from '../src/util/fs.js';

/** Medians of `transferkit --help` and `transferkit summary vgg16` as whole processes. */
export function startup(root: string, runs: number): Array<{ command: string; ms: number }> {
  const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
  return [['--help'], ['summary', 'vgg16']].map((args) => {
    timeProcess(process.execPath, [cli, ...args]); // the file cache warm, as for a user's second command
    const times = Array.from({ length: runs }, () => timeProcess(process.execPath, [cli, ...args]) * 1000);
    return { command: `transferkit ${args.join(' ')}`, ms: median(times) };
  });
}

export interface EndToEnd {
  name: string;
  transferkitS: number;
  torchS: number | null;
  vsTorch: number | null;
  spread: [number, number] | null;
  /** The share of the CPUs other processes had in the turns kept (and turns retimed with --gate). */
  load?: Paired['load'];
}

/** Two class folders of `source` linked into a fresh folder: the dataset of a workload. */
function classFolders(source: string, classes: string[]): string {
  const dir = scratchDir('transferkit-bench-data-');
  for (const c of classes) symlinkSync(path.join(source, c), path.join(dir, c));
  return dir;
}

/**
 * `transferkit extract` against `bench/torch_extract.py`, each a whole process from start to .npy written, run
 * alternately: 2,000 CIFAR-10 JPEGs through VGG16 at 32×32 (random weights), and the ants/bees photos through
 * MobileNet α=0.25 at 224×224 with ImageNet weights (PyTorch loads a state dict of the same architecture).
 */
export async function endToEnd(root: string, shared: string, o: { rounds: number; python: string | null; maxOthers: number | null }): Promise<EndToEnd[]> {
  const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
  const peer = path.join(root, 'bench', 'torch_extract.py');
  const out = scratchDir('transferkit-bench-out-');
  const home = path.join(out, 'home');
  mkdirSync(home);
  const h5 = path.join(shared, 'weights', 'mobilenet_2_5_224_tf_no_top.h5');
  timeProcess(process.execPath, [cli, 'weights', 'import', h5], { TRANSFERKIT_HOME: home });
  const pt = path.join(out, 'mobilenet.pt');
  if (o.python) timeProcess(o.python, [peer, '-', '-', '--model', 'mobilenet', '--save-weights', pt]);
  const workloads = [
    {
      name: 'extract 2,000 CIFAR-10 JPEGs, VGG16 32x32, random weights',
      data: classFolders(path.join(shared, 'data', 'cifar10-test'), ['airplane', 'frog']),
      ours: ['--base', 'vgg16', '--weights', 'none', '--input-size', '32'],
      theirs: ['--model', 'vgg16', '--size', '32'],
    },
    {
      name: 'extract 245 ants/bees photos, MobileNet 0.25 224x224, ImageNet weights',
      data: path.join(shared, 'data', 'hymenoptera', 'train'),
      ours: ['--base', 'mobilenet', '--alpha', '0.25', '--input-size', '224'],
      theirs: ['--model', 'mobilenet', '--size', '224', '--weights', pt],
    },
  ];
  const results: EndToEnd[] = [];
  for (const w of workloads) {
    const ours = async () =>
      timeProcess(process.execPath, [cli, 'extract', w.data, ...w.ours, '--out', path.join(out, 'ours.npy')], { TRANSFERKIT_HOME: home });
    const python = o.python;
    const theirs = python ? async () => timeProcess(python, [peer, w.data, path.join(out, 'theirs.npy'), ...w.theirs], peerEnv()) : undefined;
    // The processes are waited for: their CPU time is the bench's (cutime), not load.
    const gate = { pids: [process.pid], maxOthers: o.maxOthers ?? 1, retries: o.maxOthers === null ? 0 : 3, pauseMs: SETTLE_MS };
    const p = await paired(o.rounds, ours, theirs, gate);
    results.push({ name: w.name, transferkitS: p.ours, torchS: p.theirs, vsTorch: p.ratio, spread: p.spread, load: p.load });
  }
  return results;
}
