// Sharded extraction on one machine: 1 process over the 10,000 CIFAR-10 test images against 2 shard processes
// at once (what 2 cores allow), and the merge. The per-process throughput and the merge cost give the
// extrapolation to N machines: T(N) ≈ start-up + images / (N × one process's rate) + merge. The one process
// also runs on a single core (taskset) for the cost of growth per core.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const CIFAR = path.resolve(ROOT, '..', 'shared', 'data', 'cifar10-test');
const WEIGHTS = path.resolve(ROOT, '..', 'shared', 'weights', 'mobilenet_2_5_224_tf_no_top.h5');

export interface ShardBench {
  images: number;
  model: string;
  oneProcess: { seconds: number; imagesPerS: number };
  oneCore: { seconds: number; imagesPerS: number } | null;
  twoShards: { seconds: number; imagesPerS: number; shards: { rows: number; seconds: number }[] };
  merge: { seconds: number; rows: number };
}

function run(args: string[], oneCore = false): Promise<{ seconds: number; stdout: string }> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const command = oneCore ? ['taskset', '-c', '0', process.execPath] : [process.execPath];
    const child = spawn(command[0], [...command.slice(1), CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) =>
      code === 0 ? resolve({ seconds: (performance.now() - t) / 1000, stdout }) : reject(new Error(`transferkit ${args.join(' ')}: ${stderr}`)),
    );
  });
}

/** The workload, or null where ../shared's CIFAR-10 or MobileNet weights are absent. */
export async function shardedExtract(): Promise<ShardBench | null> {
  if (!existsSync(CIFAR) || !existsSync(WEIGHTS)) return null;
  const dir = path.join(os.tmpdir(), `transferkit-bench-shards-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const base = ['extract', CIFAR, '--base', 'mobilenet', '--alpha', '0.25', '--weights', WEIGHTS, '--input-size', '96', '--json'];
  try {
    const one = await run([...base, '--out', path.join(dir, 'one.parquet')]);
    const images = JSON.parse(one.stdout).images as number;
    const single = existsSync('/usr/bin/taskset') ? await run([...base, '--out', path.join(dir, 'core.parquet')], true) : null;
    const t = performance.now();
    const shards = await Promise.all([0, 1].map((k) => run([...base, '--shard', `${k}/2`, '--out', path.join(dir, 'f.parquet')])));
    const two = (performance.now() - t) / 1000;
    const merge = await run([
      'features',
      'merge',
      ...[0, 1].map((k) => path.join(dir, `f-0000${k}-of-00002.parquet`)),
      '--out',
      path.join(dir, 'all.parquet'),
      '--json',
    ]);
    return {
      images,
      model: 'mobilenet alpha 0.25, 96x96, ORT',
      oneProcess: { seconds: one.seconds, imagesPerS: images / one.seconds },
      oneCore: single && { seconds: single.seconds, imagesPerS: images / single.seconds },
      twoShards: { seconds: two, imagesPerS: images / two, shards: shards.map((s) => ({ rows: JSON.parse(s.stdout).images, seconds: s.seconds })) },
      merge: { seconds: merge.seconds, rows: JSON.parse(merge.stdout).rows },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function describeShardBench(b: ShardBench): string {
  const f = (n: number) => n.toFixed(1);
  return (
    `sharded extract over ${b.images} images (${b.model}): 1 process ${f(b.oneProcess.seconds)} s (${b.oneProcess.imagesPerS.toFixed(0)} images/s` +
    `${b.oneCore ? `; ${b.oneCore.imagesPerS.toFixed(0)} images/s on 1 core` : ''}); ` +
    `2 shard processes on this machine ${f(b.twoShards.seconds)} s (${b.twoShards.shards.map((s) => `${s.rows} in ${f(s.seconds)} s`).join(', ')}); merge ${f(b.merge.seconds)} s\n`
  );
}

// `node dist/bench/shards.js`: this workload alone.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const b = await shardedExtract();
  if (!b) process.stdout.write('bench: ../shared (CIFAR-10, MobileNet weights) is absent: nothing measured\n');
  else {
    process.stdout.write(describeShardBench(b));
    const dir = path.join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}-shards.json`);
    writeFileSync(
      file,
      JSON.stringify(
        { date: new Date().toISOString(), machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version }, shardedExtract: b },
        null,
        2,
      ) + '\n',
    );
    process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  }
}
