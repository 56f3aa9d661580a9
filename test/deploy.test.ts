import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { parseAllDocuments } from 'yaml';
import { readFeaturesFile } from '../src/train/features/file.js';
import { CLI, MOBILENET_H5, ROOT, cli, makeImageFolder, needsShared, tempDir } from './helpers.js';

const DEPLOY = path.join(ROOT, 'deploy');

/** A manifest's documents, each validated against the Kubernetes OpenAPI schema of batch/v1 Job. */
function jobs(file: string): Job[] {
  const docs = parseAllDocuments(readFileSync(path.join(DEPLOY, 'kubernetes', file), 'utf8'));
  return docs.map((d) => {
    assert.deepEqual(d.errors, [], `${file} parses as YAML`);
    const job = new Job(d.toJS());
    job.validate();
    return job;
  });
}

/** Runs a shell command line from a manifest or script here: the image's CLI path becomes the built CLI. */
function sh(line: string, env: Record<string, string>) {
  return spawnSync('/bin/sh', ['-c', line.replaceAll('node /app/dist/src/cli/main.js', `"${process.execPath}" "${CLI}"`)], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

describe('deploy/', () => {
  test('the Kubernetes Jobs validate against the Kubernetes schema and agree on N, volumes and paths', () => {
    const [extract] = jobs('extract-job.yaml');
    const [merge] = jobs('merge-job.yaml');
    const spec = extract.spec!;
    assert.equal(spec.completionMode, 'Indexed');
    assert.equal(spec.parallelism, spec.completions);
    const n = spec.completions as number;
    const container = spec.template.spec!.containers[0];
    const args = container.args!;
    assert.equal(args[0], 'extract');
    assert.equal(args[args.indexOf('--shards') + 1], String(n), '--shards is the number of completions');
    for (const job of [extract, merge]) {
      const pod = job.spec!.template.spec!;
      assert.equal(pod.restartPolicy, 'Never');
      const volumes = new Set(pod.volumes!.map((v) => v.name));
      for (const m of pod.containers[0].volumeMounts!) assert.ok(volumes.has(m.name), `${job.metadata!.name} mounts a declared volume`);
      assert.equal(pod.containers[0].image, container.image);
    }
    const out = args[args.indexOf('--out') + 1];
    assert.ok(out.startsWith(container.volumeMounts![0].mountPath + '/'), 'shards land on the shared volume');
    const mergeLine = merge.spec!.template.spec!.containers[0].args!.join(' ');
    assert.match(mergeLine, new RegExp(`features merge ${out.replace(/\.parquet$/, '')}-\\*-of-${String(n).padStart(5, '0')}\\.parquet --out `));
  });

  test('the Slurm scripts are valid bash and number the array from 0; the Dockerfile builds from the lockfile', () => {
    for (const f of ['extract-array.sbatch', 'merge.sbatch', 'submit.sh']) {
      const r = spawnSync('bash', ['-n', path.join(DEPLOY, 'slurm', f)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    }
    const array = /^#SBATCH --array=(\d+)-(\d+)$/m.exec(readFileSync(path.join(DEPLOY, 'slurm', 'extract-array.sbatch'), 'utf8'));
    assert.equal(array?.[1], '0');
    assert.match(readFileSync(path.join(DEPLOY, 'slurm', 'submit.sh'), 'utf8'), /--dependency=afterok:"\$array" merge\.sbatch/);
    const docker = readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8');
    assert.match(docker, /^COPY package\.json package-lock\.json \.\/$/m);
    assert.match(docker, /^RUN npm ci /m);
    const bin = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).bin.transferkit.replace(/^\.\//, '');
    assert.match(docker, new RegExp(`^ENTRYPOINT \\["node", "/app/${bin.replace(/\./g, '\\.')}"\\]$`, 'm'));
  });

  test('the manifests and scripts run as written: every shard, then the merge', { skip: needsShared(MOBILENET_H5) }, async () => {
    const data = tempDir();
    await makeImageFolder(path.join(data, 'photos'), { classes: ['a', 'b'], perClass: 4, size: 16 });
    const home = path.join(data, 'transferkit-home');
    assert.equal(cli(['weights', 'import', MOBILENET_H5], { TRANSFERKIT_HOME: home }).code, 0);
    const [extract] = jobs('extract-job.yaml');
    const [merge] = jobs('merge-job.yaml');
    const n = extract.spec!.completions as number;
    const args = extract.spec!.template.spec!.containers[0].args!.map((a) => a.replace(/^\/data/, data));
    mkdirSync(path.join(data, 'features'));
    for (let k = 0; k < n; k++) {
      const r = cli(args, { TRANSFERKIT_HOME: home, JOB_COMPLETION_INDEX: String(k) });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`shard ${k}/${n} \\(from JOB_COMPLETION_INDEX and --shards \\(Kubernetes Indexed Job\\)\\)`));
    }
    const m = sh(merge.spec!.template.spec!.containers[0].args![0].replaceAll('/data', data), {});
    assert.equal(m.status, 0, m.stderr);
    assert.equal((await readFeaturesFile(path.join(data, 'features', 'all.parquet'))).paths.length, 8);

    // Slurm: each array task, then the merge script.
    const slurm = path.join(DEPLOY, 'slurm');
    const env = { DATA: path.join(data, 'photos'), OUT: path.join(data, 'slurm'), TRANSFERKIT: `${process.execPath} ${CLI}`, TRANSFERKIT_HOME: home };
    const tasks = Number(/^#SBATCH --array=0-(\d+)$/m.exec(readFileSync(path.join(slurm, 'extract-array.sbatch'), 'utf8'))![1]) + 1;
    for (let k = 0; k < tasks; k++) {
      const r = spawnSync('bash', [path.join(slurm, 'extract-array.sbatch')], {
        env: { ...process.env, ...env, SLURM_ARRAY_TASK_ID: String(k), SLURM_ARRAY_TASK_COUNT: String(tasks) },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
    }
    const r = spawnSync('bash', [path.join(slurm, 'merge.sbatch')], { env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(path.join(data, 'slurm', 'all.parquet')));
  });
});
