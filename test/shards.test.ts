import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseShard, resolveShard, shardFromEnv, shardOfPath, shardRows } from '../src/data/shards.js';
import { readFeaturesFile, writeFeaturesFile, type FeaturesTable } from '../src/train/features/file.js';
import { listingOrder } from '../src/train/features/merge.js';
import { CLI, MOBILENET_H5, cli, makeImageFolder, needsShared, tempDir } from './helpers.js';

describe('shards', () => {
  test('K/N from the flag or from each array engine, with clear errors', () => {
    assert.deepEqual(parseShard('2/4'), { index: 2, count: 4, source: '--shard' });
    assert.throws(() => parseShard('4/4'), /index must be an integer in 0\.\.3/);
    assert.throws(() => parseShard('1-4'), /--shard must be K\/N/);
    assert.equal(shardFromEnv({}), null);
    assert.equal(resolveShard(undefined, undefined, {}), null);
    assert.deepEqual(resolveShard('1/3', 8, { JOB_COMPLETION_INDEX: '5' }), { index: 1, count: 3, source: '--shard' });
    assert.throws(() => resolveShard(undefined, 4, {}), /--shards 4 needs the shard index from the engine .* use --shard K\/4/);
    assert.deepEqual(shardFromEnv({ JOB_COMPLETION_INDEX: '3' }, 8), {
      index: 3,
      count: 8,
      source: 'JOB_COMPLETION_INDEX and --shards (Kubernetes Indexed Job)',
    });
    assert.throws(() => shardFromEnv({ JOB_COMPLETION_INDEX: '3' }), /JOB_COMPLETION_INDEX=3 is set but the number of shards is not: pass --shards N/);
    assert.deepEqual(shardFromEnv({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '5' }), {
      index: 1,
      count: 5,
      source: 'SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (Slurm job array)',
    });
    assert.equal(shardFromEnv({ AWS_BATCH_JOB_ARRAY_INDEX: '0' }, 2)?.source, 'AWS_BATCH_JOB_ARRAY_INDEX and --shards (AWS Batch array job)');
    assert.deepEqual(shardFromEnv({ BATCH_TASK_INDEX: '6', BATCH_TASK_COUNT: '7' })?.index, 6);
    assert.throws(() => shardFromEnv({ BATCH_TASK_INDEX: '7', BATCH_TASK_COUNT: '7' }), /BATCH_TASK_INDEX: the shard index must be an integer in 0\.\.6/);
  });

  test('a file keeps its shard when files are added; shards are roughly even; tile rows split in blocks', () => {
    const names = Array.from({ length: 4000 }, (_, i) => `class${i % 7}/img${i}.jpg`);
    const before = names.map((n) => shardOfPath(n, 4));
    const more = [...names.slice(0, 2000), 'new/a.jpg', ...names.slice(2000), 'new/b.jpg'];
    assert.deepEqual(
      more.filter((n) => !n.startsWith('new/')).map((n) => shardOfPath(n, 4)),
      before,
    );
    for (let k = 0; k < 4; k++) {
      const share = before.filter((s) => s === k).length / names.length;
      assert.ok(share > 0.2 && share < 0.3, `shard ${k} holds ${share}`);
    }
    const blocks = [0, 1, 2].map((index) => shardRows(10, { index, count: 3 }));
    assert.deepEqual(blocks, [
      { start: 0, end: 4 },
      { start: 4, end: 8 },
      { start: 8, end: 10 },
    ]);
  });

  test('merge order is the listing order of an unsharded run', () => {
    const paths = ['b/x.jpg', 'a/z/1.jpg', 'a/y.jpg', 'a/z.jpg', 'a-b/1.jpg'];
    // listImageFolder sorts the entries of each folder and descends depth first.
    assert.deepEqual([...paths].sort(listingOrder), ['a/y.jpg', 'a/z/1.jpg', 'a/z.jpg', 'a-b/1.jpg', 'b/x.jpg']);
  });

  test('parquet, arrow and npy hold the same table', async () => {
    const dir = tempDir();
    const t: FeaturesTable = {
      meta: {
        format: 'transferkit-features',
        version: 1,
        digest: 'abc',
        root: '/data',
        classNames: ['a', 'b'],
        featureShape: [3],
        shard: null,
        source: { base: 'mobilenet', weights: 'imagenet', inputSize: 96, pooling: 'avg', preprocessing: 'tf' },
        listing: { files: 3, digest: 'def' },
        manifest: [
          ['a/1.jpg', 0],
          ['b/2.jpg', 1],
          ['b/3.jpg', 1],
        ],
        skipped: [{ file: 'b/3.jpg', reason: 'cannot decode' }],
      },
      paths: ['a/1.jpg', 'b/2.jpg'],
      labels: [0, 1],
      vectors: Float32Array.from([0.5, -1, 2e-7, 3, 4, 5]),
      dim: 3,
    };
    for (const ext of ['parquet', 'arrow', 'npy'] as const) {
      const file = path.join(dir, `f.${ext}`);
      await writeFeaturesFile(file, ext, t);
      const back = await readFeaturesFile(file);
      assert.deepEqual({ ...back, vectors: Array.from(back.vectors) }, { ...t, vectors: Array.from(t.vectors) }, ext);
    }
    writeFileSync(path.join(dir, 'bad.parquet'), 'not parquet');
    await assert.rejects(readFeaturesFile(path.join(dir, 'bad.parquet')), /bad\.parquet: not a readable parquet file/);
  });
});

/** Runs the CLI without waiting, so that shards run as concurrent processes. */
function cliAsync(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('sharded extract, merge and an independent reader', { skip: needsShared(MOBILENET_H5) }, () => {
  const base = ['--base', 'mobilenet', '--alpha', '0.25', '--weights', MOBILENET_H5, '--input-size', '32', '--batch-size', '5'];

  test('4 shard processes merge into exactly the rows of one run; re-runs change nothing; gaps and other bases are refused', async () => {
    const data = await makeImageFolder(path.join(tempDir(), 'data'), { classes: ['ant', 'bee', 'cat'], perClass: 9 });
    writeFileSync(path.join(data, 'bee', 'broken.jpg'), 'not a jpeg');
    const dir = tempDir();
    const whole = cli(['extract', data, ...base, '--out', path.join(dir, 'whole.parquet'), '--json']);
    assert.equal(whole.code, 0, whole.stderr);
    const shards = path.join(dir, 'shards', 'f.parquet');
    const runs = await Promise.all([0, 1, 2, 3].map((k) => cliAsync(['extract', data, ...base, '--shard', `${k}/4`, '--out', shards])));
    runs.forEach((r, k) => {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`shard ${k}/4 \\(from --shard\\)`));
    });
    const files = readdirSync(path.dirname(shards)).sort();
    assert.deepEqual(
      files,
      [0, 1, 2, 3].map((k) => `f-0000${k}-of-00004.parquet`),
    );
    const shardPaths = files.map((f) => path.join(path.dirname(shards), f));
    const merged = path.join(dir, 'all.parquet');
    const m = cli(['features', 'merge', ...shardPaths, '--out', merged, '--json']);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(JSON.parse(m.stdout).rows, 27);

    const a = await readFeaturesFile(path.join(dir, 'whole.parquet'));
    const b = await readFeaturesFile(merged);
    assert.equal(a.paths.length, 27);
    assert.deepEqual(b.paths, a.paths);
    assert.deepEqual(b.labels, a.labels);
    assert.deepEqual(b.vectors, a.vectors);
    assert.deepEqual(b.meta.skipped, [{ file: 'bee/broken.jpg', reason: a.meta.skipped[0].reason }]);
    assert.equal(b.meta.digest, a.meta.digest);

    // The engine retries shard 2 (from its environment this time): same bytes, same merge.
    const before = readFileSync(shardPaths[2]);
    const mergedBefore = readFileSync(merged);
    const again = cli(['extract', data, ...base, '--out', shards], { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4' });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /shard 2\/4 \(from SLURM_ARRAY_TASK_ID\/SLURM_ARRAY_TASK_COUNT \(Slurm job array\)\)/);
    assert.deepEqual(readdirSync(path.dirname(shards)).sort(), files, 'no stray temporary file');
    assert.deepEqual(readFileSync(shardPaths[2]), before);
    assert.equal(cli(['features', 'merge', ...shardPaths, '--out', merged]).code, 0);
    assert.deepEqual(readFileSync(merged), mergedBefore);

    // A missing shard is named, with the command to run.
    const gap = cli(['features', 'merge', shardPaths[0], shardPaths[1], shardPaths[3], '--out', path.join(dir, 'gap.parquet')]);
    assert.equal(gap.code, 1);
    assert.match(gap.stderr, /missing shard 2\/4 \(.*f-00002-of-00004\.parquet\): run transferkit extract … --shard 2\/4/);
    const twice = cli(['features', 'merge', ...shardPaths, shardPaths[1], '--out', path.join(dir, 'twice.parquet')]);
    assert.match(twice.stderr, /are both shard 1\/4/);

    // A shard computed by another base (random weights) is refused, naming the shard to re-run.
    const other = path.join(dir, 'other', 'f.parquet');
    const o = cli(['extract', data, ...base.slice(0, 4), '--weights', 'none', '--input-size', '32', '--shard', '3/4', '--out', other]);
    assert.equal(o.code, 0, o.stderr);
    const mixed = cli([
      'features',
      'merge',
      ...shardPaths.slice(0, 3),
      path.join(dir, 'other', 'f-00003-of-00004.parquet'),
      '--out',
      path.join(dir, 'mixed.parquet'),
    ]);
    assert.equal(mixed.code, 1);
    assert.match(mixed.stderr, /f-00003-of-00004\.parquet was extracted with another base, cut, size or preprocessing .*re-run shard 3\/4/);
    rmSync(path.join(dir, 'other'), { recursive: true });

    // DuckDB, reading the Parquet file as it is, sees the same paths, labels and vectors.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const reader = await conn.runAndReadAll(`SELECT path, label, digest, features FROM read_parquet('${merged.replace(/'/g, "''")}')`);
    const rows = reader.getRowObjectsJson() as { path: string; label: number; digest: string; features: number[] }[];
    assert.deepEqual(
      rows.map((r) => r.path),
      a.paths,
    );
    assert.deepEqual(
      rows.map((r) => r.label),
      a.labels,
    );
    assert.ok(rows.every((r) => r.digest === a.meta.digest));
    assert.deepEqual(Float32Array.from(rows.flatMap((r) => r.features)), a.vectors);
    // And a Parquet file DuckDB wrote itself is not taken for features.
    const plain = path.join(dir, 'plain.parquet');
    await conn.run(`COPY (SELECT 'a/1.jpg' AS path, 0 AS label) TO '${plain.replace(/'/g, "''")}' (FORMAT parquet)`);
    const foreign = cli(['features', 'merge', plain, '--out', path.join(dir, 'x.parquet')]);
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /plain\.parquet: not a transferkit features file \(no 'transferkit' metadata\)/);
    conn.closeSync();
  });
});
