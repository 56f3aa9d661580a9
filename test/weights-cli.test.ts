import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, truncateSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import { CLI, MOBILENET_H5, cli, needsShared, tempDir } from './helpers.js';

const NAME = 'mobilenet_2_5_224_tf_no_top.h5';
const skip = needsShared(MOBILENET_H5);

/** Runs the CLI without blocking the event loop (the test's HTTP server must keep answering). */
function cliAsync(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A local server standing in for Keras's storage: serves the real file, a cut-off copy, or an error. */
async function withServer(mode: 'ok' | 'cut' | '404' | '500', fn: (url: string) => Promise<void>): Promise<void> {
  const body = readFileSync(MOBILENET_H5);
  const server = http.createServer((_req, res) => {
    if (mode === '404' || mode === '500') {
      res.writeHead(Number(mode));
      res.end('no');
      return;
    }
    res.writeHead(200, { 'content-length': body.length });
    if (mode === 'ok') res.end(body);
    else res.write(body.subarray(0, 100_000), () => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

/** A loopback port with nothing listening: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const cacheFiles = (home: string) => (existsSync(path.join(home, 'weights')) ? readdirSync(path.join(home, 'weights')) : []);

describe('transferkit weights (offline import, cache, download)', () => {
  test('import into an empty TRANSFERKIT_HOME, then summary --weights imagenet works offline', { skip }, () => {
    const home = tempDir();
    const env = { TRANSFERKIT_HOME: home, TRANSFERKIT_MIRROR: 'http://127.0.0.1:1' };
    const imp = cli(['weights', 'import', MOBILENET_H5], env);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /imported mobilenet_2_5_224_tf_no_top\.h5 \(2108140 bytes, hash checked\)/);
    const s = cli(['summary', 'mobilenet', '--alpha', '0.25', '--no-top', '--weights', 'imagenet', '--json'], env);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).totalParams, 218_544);
    const list = JSON.parse(cli(['weights', 'list', '--json'], env).stdout);
    assert.equal(list.files.find((f: { file: string }) => f.file === NAME).cached, true);
    assert.equal(
      list.files.find((f: { file: string }) => f.file === 'vgg16_weights_tf_dim_ordering_tf_kernels.h5').hash,
      'md5 64373286793e3c8b2b4e3219cbf3544b',
    );
    const v = cli(['weights', 'verify', '--json'], env);
    assert.equal(v.code, 0);
    assert.deepEqual(JSON.parse(v.stdout), [{ file: NAME, status: 'ok' }]);
  });

  test('a truncated copy is refused on import; nothing is left in the cache', { skip }, () => {
    const home = tempDir();
    const dir = tempDir();
    const copy = path.join(dir, NAME);
    copyFileSync(MOBILENET_H5, copy);
    truncateSync(copy, 1_000_000);
    const r = cli(['weights', 'import', copy], { TRANSFERKIT_HOME: home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not Keras's mobilenet_2_5_224_tf_no_top\.h5 \(sha256 [0-9a-f]+, expected dbdb03ee/);
    assert.deepEqual(cacheFiles(home), []);
  });

  test('a truncated copy given as --weights FILE fails clearly', { skip }, () => {
    const dir = tempDir();
    const copy = path.join(dir, NAME);
    copyFileSync(MOBILENET_H5, copy);
    truncateSync(copy, 1_000_000);
    const r = cli(['summary', 'mobilenet', '--alpha', '0.25', '--no-top', '--weights', copy]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot open the HDF5 file \(truncated or damaged\?\): truncated file/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  test('VGG16 given the MobileNet file fails, naming the missing weights', { skip }, () => {
    const r = cli(['summary', 'vgg16', '--no-top', '--weights', MOBILENET_H5]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not fit model vgg16: 26 model weights missing from the file \(block1_conv1\/kernel/);
  });

  test('an unknown file name is refused on import', () => {
    const r = cli(['weights', 'import', path.join(tempDir(), 'my_weights.h5')], { TRANSFERKIT_HOME: tempDir() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a file transferkit knows by name/);
  });

  test('--weights imagenet, not cached, no network: fails fast naming the file and the import command', async () => {
    const home = tempDir();
    const port = await closedPort();
    const t0 = Date.now();
    const r = cli(['summary', 'vgg16', '--no-top', '--weights', 'imagenet'], { TRANSFERKIT_HOME: home, TRANSFERKIT_MIRROR: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cannot download vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5 from http:\/\/127\.0\.0\.1:\d+\/vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5: ECONNREFUSED; download it elsewhere and run: transferkit weights import vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5/,
    );
    assert.ok(Date.now() - t0 < 30_000);
    assert.deepEqual(cacheFiles(home), []);
  });

  for (const mode of ['404', '500', 'cut'] as const) {
    test(`download from a server that ${mode === 'cut' ? 'closes mid-way' : `answers ${mode}`}: clear error, empty cache`, { skip }, async () => {
      const home = tempDir();
      await withServer(mode, async (url) => {
        const r = await cliAsync(['weights', 'fetch', 'mobilenet', '--alpha', '0.25', '--no-top'], { TRANSFERKIT_HOME: home, TRANSFERKIT_MIRROR: url });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, mode === 'cut' ? /transfer (broke off|ended) after/ : new RegExp(`the server answered ${mode}`));
      });
      assert.deepEqual(cacheFiles(home), []);
    });
  }

  test('download from a mirror: progress, hash check, cached once', { skip }, async () => {
    const home = tempDir();
    await withServer('ok', async (url) => {
      const r = await cliAsync(['weights', 'fetch', 'mobilenet', '--alpha', '0.25', '--no-top'], { TRANSFERKIT_HOME: home, TRANSFERKIT_MIRROR: url });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Downloading mobilenet_2_5_224_tf_no_top\.h5 \[#+\] 100%/);
    });
    assert.deepEqual(cacheFiles(home), [NAME]);
  });

  test('a cache folder that cannot be written is a clear error', { skip }, () => {
    // Root ignores folder permissions, so as root use a folder on a read-only file system instead.
    let home = tempDir();
    if (process.getuid?.() === 0) home = '/sys/transferkit-test-home';
    else mkdirSync(path.join(home, 'weights'), { mode: 0o500 });
    const r = cli(['weights', 'import', MOBILENET_H5], { TRANSFERKIT_HOME: home });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot write to the cache folder .* \((EACCES|EROFS|EPERM)\): set TRANSFERKIT_HOME to a writable folder/);
  });
});
