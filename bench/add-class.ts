// `npx tsc -p . && node dist/bench/add-class.js [--runs=7] [--against=OTHER/dist/src/cli/main.js]`: issue #29's
// "add-class in under a second on 1,000 images", timed as a user runs it. A k-NN model (MobileNet α=0.25 with
// ImageNet weights, 96×96, as the guides use) is trained on 200 CIFAR-10 airplanes and 200 frogs, then
// `transferkit add-class MODEL bird/ --out NEW --json` adds the 1,000 CIFAR-10 test birds, whole process, N times.
// Prints min and median of the wall time, the command's own time and where it went (its --json timings), the
// process's CPU time, and the load average. `--against` runs another build's CLI alternately, run for run, so a
// busy machine weighs on both alike. Writes bench/results/add-class-<date>.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratchDir } from '../src/util/fs.js';
import { median } from './peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = path.resolve(ROOT, '..', 'shared');
const CIFAR = path.join(SHARED, 'data', 'cifar10-test');
const H5 = path.join(SHARED, 'weights', 'mobilenet_2_5_224_tf_no_top.h5');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const RUNS = Number(arg('runs') ?? 7);

/** CPU seconds (user + system) of this process's waited-for children so far (Linux; null elsewhere). */
function childrenCpu(): number | null {
  if (!existsSync('/proc/self/stat')) return null;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime in clock ticks (100 per second on Linux)
}

interface Run {
  wallS: number;
  cpuS: number | null;
  seconds: number;
  timings: { loadS: number; featuresS: number; saveS: number };
}

function runCli(cli: string, args: string[], env: Record<string, string>): { stdout: string; wallS: number; cpuS: number | null } {
  const cpu = childrenCpu();
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  const wallS = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`transferkit ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-500)}`);
  const after = childrenCpu();
  return { stdout: r.stdout, wallS, cpuS: cpu === null || after === null ? null : after - cpu };
}

/** The first `n` test images of each class, linked into class folders under `dir`. */
function cifarFolders(dir: string, classes: string[], n: number): string {
  for (const c of classes) {
    mkdirSync(path.join(dir, c), { recursive: true });
    for (let i = 0; i < n; i++) {
      const name = `${String(i).padStart(4, '0')}.jpg`;
      symlinkSync(path.join(CIFAR, c, name), path.join(dir, c, name));
    }
  }
  return dir;
}

function summary(runs: Run[]) {
  const pick = (f: (r: Run) => number | null) => {
    const xs = runs.map(f).filter((x): x is number => x !== null);
    return xs.length ? { min: Math.min(...xs), median: median(xs) } : null;
  };
  return {
    wallS: pick((r) => r.wallS),
    secondsS: pick((r) => r.seconds),
    featuresS: pick((r) => r.timings.featuresS),
    loadS: pick((r) => r.timings.loadS),
    saveS: pick((r) => r.timings.saveS),
    cpuS: pick((r) => r.cpuS),
  };
}

function main(): void {
  if (!existsSync(CIFAR) || !existsSync(H5)) {
    process.stderr.write(`bench add-class: needs ${CIFAR} and ${H5}\n`);
    process.exitCode = 1;
    return;
  }
  const dir = scratchDir('transferkit-bench-add-class-');
  const env = { TRANSFERKIT_HOME: path.join(dir, 'home') };
  const ours = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const against = arg('against') ? path.resolve(arg('against') as string) : null;
  const pair = cifarFolders(path.join(dir, 'pair'), ['airplane', 'frog'], 200);
  const birds = path.join(cifarFolders(path.join(dir, 'new'), ['bird'], 1000), 'bird');
  const model = path.join(dir, 'knn');
  const base = ['--base', 'mobilenet', '--alpha', '0.25', '--weights', H5, '--input-size', '96'];
  runCli(ours, ['train', pair, ...base, '--head', 'knn', '--out', model], env);
  const clis = against ? { ours, against } : { ours };
  const runs: Record<string, Run[]> = Object.fromEntries(Object.keys(clis).map((k) => [k, []]));
  const loads: number[] = [];
  // One untimed run each first: the file cache warm, as for a user's second command.
  for (let i = -1; i < RUNS; i++)
    for (const [name, cli] of Object.entries(clis)) {
      const out = path.join(dir, `out-${name}-${i}`);
      const r = runCli(cli, ['add-class', model, birds, '--out', out, '--json'], env);
      const json = JSON.parse(r.stdout) as { seconds: number; timings: Run['timings']; added: { images: number } };
      if (json.added.images !== 1000) throw new Error(`${name}: ${json.added.images} images added, not 1,000`);
      if (i >= 0) runs[name].push({ wallS: r.wallS, cpuS: r.cpuS, seconds: json.seconds, timings: json.timings });
      loads.push(os.loadavg()[0]);
    }
  const result = {
    date: new Date().toISOString(),
    workload: 'add-class: 1,000 CIFAR-10 birds (32x32 JPEGs) to a 2-class k-NN model, MobileNet 0.25 at 96x96, ImageNet weights; whole process',
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    loadAverage1m: { min: Math.min(...loads), max: Math.max(...loads) },
    runs: RUNS,
    ...Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, { ...summary(v), all: v }])),
    ...(against ? { againstCli: against } : {}),
  };
  const s = (x: { min: number; median: number } | null) => (x ? `min ${x.min.toFixed(3)} s, median ${x.median.toFixed(3)} s` : '-');
  for (const [name, v] of Object.entries(runs)) {
    const m = summary(v);
    process.stdout.write(
      `${name}: wall ${s(m.wallS)}; add-class's own ${s(m.secondsS)} (features ${s(m.featuresS)}, load ${s(m.loadS)}, save ${s(m.saveS)}); CPU ${s(m.cpuS)}\n`,
    );
  }
  process.stdout.write(
    `load average (1 min) during the runs: ${result.loadAverage1m.min.toFixed(1)}-${result.loadAverage1m.max.toFixed(1)} on ${os.cpus().length} CPUs\n`,
  );
  const results = path.join(ROOT, 'bench', 'results');
  mkdirSync(results, { recursive: true });
  const file = path.join(results, `add-class-${result.date.slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
}

main();
