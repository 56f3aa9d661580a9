// The medical guide's example (docs/medical.md), run line by line as written (a shell function stands for the installed
// `transferkit`), on a generated DICOM set laid out as the guide says: studies/{normal,pneumonia},
// holdout/{normal,pneumonia}, studies/normal/ct001.dcm. Needs ../shared's MobileNet weights (the example uses
// ImageNet weights at 224).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { makeBlobDicomFolder } from './dicom-data.js';
import { CLI, MOBILENET_H5, ROOT, cli, needsShared, tempDir } from './helpers.js';

/** The shell lines of the first sh block of `doc`'s section `heading`, comments and blanks left out. */
function docCommands(doc: string, heading: string): string[] {
  const text = readFileSync(path.join(ROOT, doc), 'utf8');
  const section = text.slice(text.indexOf(heading));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
}

const shell = (line: string) => `transferkit() { "${process.execPath}" "${CLI}" "$@"; }\n${line}`;

describe('docs/medical.md: the medical example runs as written', { skip: needsShared(MOBILENET_H5) }, () => {
  test('show, train with class weights, evaluate (ROC AUC, sensitivity, specificity), predict, explain, ui', async () => {
    const dir = tempDir();
    for (const [set, perClass, seed] of [
      ['studies', 40, 11],
      ['holdout', 20, 99],
    ] as const) {
      await makeBlobDicomFolder(path.join(dir, set), perClass, 64, seed);
      renameSync(path.join(dir, set, 'blob'), path.join(dir, set, 'pneumonia'));
      renameSync(path.join(dir, set, 'plain'), path.join(dir, set, 'normal'));
    }
    renameSync(path.join(dir, 'studies', 'normal', 'plain-000.dcm'), path.join(dir, 'studies', 'normal', 'ct001.dcm'));
    const env = { ...process.env, TRANSFERKIT_HOME: tempDir() };
    assert.equal(cli(['weights', 'import', MOBILENET_H5], env).code, 0);

    const lines = docCommands('docs/medical.md', '# Medical images');
    assert.ok(lines.length >= 6, 'docs/medical.md has the example');
    const outputs: string[] = [];
    for (const line of lines) {
      if (/^transferkit ui\b/.test(line)) {
        // A server: it must start and list the model trained above; then it is stopped.
        const server = spawn('bash', ['-c', shell(line)], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
        try {
          const url = await new Promise<string>((resolve, reject) => {
            server.stdout?.on('data', (d: Buffer) => /http:\/\/\S+/.test(String(d)) && resolve(String(d).match(/http:\/\/\S+/)![0]));
            server.once('exit', (code) => reject(new Error(`${line}: exited with ${code}`)));
          });
          const saved = (await (
            await fetch(new URL('/api/saved', url), { headers: { authorization: `token ${new URL(url).searchParams.get('token')}` } })
          ).json()) as Array<{
            path: string;
          }>;
          assert.deepEqual(
            saved.map((s) => s.path),
            ['runs/ct'],
          );
        } finally {
          process.kill(-(server.pid as number), 'SIGTERM');
        }
        continue;
      }
      const r = spawnSync('bash', ['-c', shell(line)], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, `${line}\n${r.stderr}`);
      outputs.push(r.stdout);
    }
    assert.ok(existsSync(path.join(dir, 'view', 'ct001.png')) && existsSync(path.join(dir, 'view', 'ct001.npy')));
    const meta = JSON.parse(readFileSync(path.join(dir, 'runs', 'ct', 'transferkit.json'), 'utf8'));
    assert.deepEqual(meta.dicom, { window: 'mediastinum' });
    assert.equal(typeof meta.threshold, 'number');
    const evaluation = outputs.find((o) => o.includes('sensitivity')) ?? '';
    const m = /ROC AUC ([\d.]+), PR AUC [\d.]+; at threshold [\d.]+ on p\(pneumonia\): sensitivity ([\d.]+)%, specificity ([\d.]+)%/.exec(evaluation);
    assert.ok(m, evaluation);
    process.stderr.write(`docs/medical.md example: held-out ROC AUC ${m[1]}, sensitivity ${m[2]}%, specificity ${m[3]}%\n`);
    assert.ok(Number(m[1]) >= 0.9, evaluation);
    assert.ok(existsSync(path.join(dir, 'curves', 'roc.png')) && existsSync(path.join(dir, 'cm.png')));
    assert.equal(readdirSync(path.join(dir, 'heatmaps')).filter((f) => f.endsWith('.gradcam.png')).length, 20);
  });
});
