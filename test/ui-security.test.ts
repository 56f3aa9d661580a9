// The UI's server under hostile requests (issue 13): paths, uploads, zip bombs, Host/Origin/token. Every request
// here must get its own status, never a 500 with a server path, and must leave everything outside uploads/ as it was.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { TransferkitError } from '../src/errors.js';
import { errorReply, startUi } from '../src/ui/server.js';
import { CLI, TINY_BASE, cli, makeImageFolder, tempDir } from './helpers.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with full control of its headers (fetch will not send a foreign Host). */
function request(base: string, p: string, o: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(p, base), { method: o.method ?? 'GET', headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Every file under `dir` with its size, uploads/ and models/ left out: what a hostile request must not change. */
function snapshot(dir: string, skip = ['uploads', 'models']): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && skip.includes(e.name)) continue;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(`${r}:${e.isFile() ? statSync(path.join(d, e.name)).size : 'link'}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** A one-entry zip written by hand, so its headers can declare what they like. */
function oneEntryZip(name: string, deflated: Uint8Array, sizes: { local: number; central: number }): Buffer {
  const n = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(deflated.length, 18);
  local.writeUInt32LE(sizes.local, 22);
  local.writeUInt16LE(n.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(deflated.length, 20);
  central.writeUInt32LE(sizes.central, 24);
  central.writeUInt16LE(n.length, 28);
  const cdOffset = 30 + n.length + deflated.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + n.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, n, deflated, central, n, end]);
}

/**
 * A raw deflate stream of `mib` MiB of zeros, made in milliseconds: after the first MiB, every further MiB of zeros
 * deflates (with a sync flush) to the same bytes, so those are repeated. 2048 MiB come to about 2 MB.
 */
async function zerosDeflated(mib: number): Promise<Buffer> {
  const d = zlib.createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const next = async () => {
    d.write(Buffer.alloc(1 << 20));
    await new Promise<void>((r) => d.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    return Buffer.concat(out.splice(0));
  };
  const first = await next();
  const repeated = await next();
  d.destroy();
  // 0x03 0x00: an empty final block (fixed codes, end-of-block only).
  return Buffer.concat([first, ...Array<Buffer>(mib - 1).fill(repeated), Buffer.from([0x03, 0x00])]);
}

describe('transferkit ui: hostile requests', () => {
  let base: string;
  let root: string;
  let outside: string;
  let token: string;
  let ui: Awaited<ReturnType<typeof startUi>>;
  let before_: { root: string[]; parent: string[]; outside: string[] };
  let png: Buffer;
  const auth = () => ({ authorization: `token ${token}` });
  const get = (p: string, headers: Record<string, string> = {}) => request(ui.url, p, { headers: { ...auth(), ...headers } });
  const post = (p: string, body: Uint8Array | string, type: string, headers: Record<string, string> = {}) =>
    request(ui.url, p, { method: 'POST', body, headers: { ...auth(), 'content-type': type, ...headers } });
  const goodZip = (name = 'set') => zipSync({ [`${name}/cats/1.png`]: png, [`${name}/cats/2.png`]: png, [`${name}/dogs/1.png`]: png });

  before(async () => {
    base = tempDir();
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    mkdirSync(outside);
    await makeImageFolder(path.join(root, 'photos'), { perClass: 3 });
    png = readFileSync(path.join(root, 'photos', 'alpha', '000.png'));
    writeFileSync(path.join(root, 'photos', 'alpha', 'notes.txt'), 'not an image');
    writeFileSync(path.join(root, 'photos', 'alpha', 'broken.png'), 'not a png');
    writeFileSync(path.join(outside, 'secret.png'), png);
    writeFileSync(path.join(outside, 'weights.h5'), 'not really');
    writeFileSync(path.join(outside, 'private.json'), '{"base":{"id":"secret"}}');
    symlinkSync(outside, path.join(root, 'escape'));
    // A dataset whose one image is a link to a file outside.
    await makeImageFolder(path.join(root, 'linked'), { perClass: 1 });
    symlinkSync(path.join(outside, 'secret.png'), path.join(root, 'linked', 'beta', 'secret.png'));
    ui = await startUi({ root, port: 0, limits: { maxUpload: 3e6, maxEntries: 50 } });
    token = ui.token as string;
    // An earlier upload, which nothing below may lose.
    const first = await post('/api/upload?name=earlier', goodZip(), 'application/zip');
    assert.equal(first.status, 200, first.body);
    before_ = { root: snapshot(root), parent: readdirSync(base).sort(), outside: snapshot(outside) };
  });
  after(async () => {
    await ui.close();
    // Nothing written or deleted outside uploads/ (and models/, which no request here reaches), nor beside the root.
    assert.deepEqual(snapshot(root), before_.root);
    assert.deepEqual(readdirSync(base).sort(), before_.parent);
    assert.deepEqual(snapshot(outside), before_.outside);
    assert.deepEqual(readdirSync(path.join(root, 'uploads', 'earlier')).sort(), ['cats', 'dogs']);
  });

  /** The answer carries a short error, no server path, and is not a 500. */
  const refused = (r: Reply, status: number | number[], what: string) => {
    assert.ok([status].flat().includes(r.status), `${what}: got ${r.status} ${r.body}`);
    assert.ok(!r.body.includes(base), `${what}: the answer shows a server path: ${r.body}`);
    assert.ok(JSON.parse(r.body).error, what);
  };

  test('path parameters: NUL, schemes, backslashes, absolute, double-encoded, ../ and symlinks are refused up front', async () => {
    const hostile: Array<[string, number | number[]]> = [
      ['%00', 400],
      ['photos%00', 400],
      ['photos/alpha/000.png%00.txt', 400],
      ['file:///etc/passwd', 400],
      ['file%3A%2F%2F%2Fetc%2Fpasswd', 400],
      ['http://evil.example/x.png', 400],
      ['C:/Windows/win.ini', 400],
      ['..%5C..%5Cetc%5Cpasswd', 400],
      ['photos%5Calpha', 400],
      ['%2Fetc%2Fpasswd', 400],
      ['/etc/passwd', 400],
      ['..%2F..%2Fetc%2Fpasswd', 403],
      ['../', 403],
      ['photos/../../outside/secret.png', 403],
      ['escape/secret.png', 403],
      ['%252e%252e%252fetc%252fpasswd', 404],
    ];
    for (const [value, status] of hostile) {
      for (const route of ['/api/thumb?path=', '/api/export?model=']) refused(await get(route + value), status, route + value);
      // Try it's Grad-CAM: the model is gated the same way, before the image is read.
      refused(await post(`/api/explain?name=a.png&model=${value}`, png, 'application/octet-stream'), status, `/api/explain?model=${value}`);
      refused(await get(`/api/dataset?path=${value}`), status === 404 ? [400, 404] : status, `/api/dataset?path=${value}`);
    }
    for (const value of [
      '%00',
      'photos%2Falpha%2F000.png%00',
      'file:%2F%2F%2Fetc%2Fpasswd',
      '..%5C..%5Cetc%5Cpasswd',
      '%2Fetc%2Fpasswd',
      '..%2F..%2Fetc%2Fpasswd',
      'escape/secret.png',
      '%252e%252e%252fetc%252fpasswd',
      '%E0%A4%A',
    ]) {
      const r = await get(`/api/files/${value}`);
      assert.ok([400, 403, 404].includes(r.status), `/api/files/${value}: ${r.status}`);
      refused(r, r.status, `/api/files/${value}`);
    }
    // The root passes the gate, but it holds a link to a folder outside: listing or training on it is refused too.
    refused(await get('/api/dataset?path=.'), 403, 'a folder holding a link outside');
    refused(await get('/api/dataset?path=linked'), 403, 'a class folder holding a link outside');
    refused(await post('/api/jobs', JSON.stringify({ base: 'mobilenet', data: 'linked' }), 'application/json'), 403, 'a job on it');
    refused(await post('/api/jobs', JSON.stringify({ base: 'mobilenet', data: '.' }), 'application/json'), 403, 'a job on a folder holding a link outside');
    assert.deepEqual((JSON.parse((await get('/api/datasets')).body) as Array<{ path: string }>).map((d) => d.path).sort(), ['photos', 'uploads/earlier']);
    // The root itself where a file or model is asked for.
    for (const p of ['/api/thumb?path=.', '/api/export?model=.', '/api/thumb?path=photos/..']) refused(await get(p), 403, p);
    refused(await post('/api/explain?model=.&name=a.png', png, 'application/octet-stream'), 403, 'explain with the root as the model');
    refused(await post('/api/explain?model=escape&name=a.png', png, 'application/octet-stream'), 403, 'explain with a model behind a link outside');
    // (URLs normalise /api/files/. to /api/files/: no path at all.)
    refused(await get('/api/files/.'), 400, '/api/files/.');
    // The page's own file server.
    for (const p of ['/%00', '/..%2F..%2Fetc%2Fpasswd', '/%E0%A4%A']) assert.ok([400, 404].includes((await get(p)).status), p);
  });

  test('thumbnails of missing, non-image and broken files: 404 and 415, not 500', async () => {
    refused(await get('/api/thumb?path=photos/alpha/none.png'), 404, 'missing');
    refused(await get('/api/thumb?path=photos/alpha/notes.txt'), 415, 'not an image');
    refused(await get('/api/thumb?path=photos/alpha/broken.png'), 415, 'broken png');
    refused(await get('/api/thumb?path=photos'), 404, 'a folder');
    const ok = await get('/api/thumb?path=photos/alpha/000.png');
    assert.equal(ok.status, 200);
  });

  test('job fields: weights, data and out outside the root or malformed are refused before anything runs', async () => {
    const job = (fields: Record<string, unknown>) =>
      post(
        '/api/jobs',
        JSON.stringify({ kind: 'train', base: 'mobilenet', data: 'photos', alpha: 0.25, inputSize: 32, epochs: 1, ...fields }),
        'application/json',
      );
    const hostile: Array<[Record<string, unknown>, number]> = [
      [{ weights: '/etc/passwd' }, 400],
      [{ weights: '../outside/weights.h5' }, 403],
      [{ weights: 'escape/weights.h5' }, 403],
      [{ weights: 'file:///etc/passwd' }, 400],
      [{ weights: 'photos/alpha/000.png' }, 400],
      [{ weights: 'missing.h5' }, 400],
      [{ weights: 42 }, 400],
      [{ data: 'file:///etc/passwd' }, 400],
      [{ data: '..\\..\\etc\\passwd' }, 400],
      [{ data: 'photos\0' }, 400],
      [{ data: '/etc' }, 400],
      [{ data: '../' }, 403],
      [{ data: 'escape' }, 403],
      [{ data: 'nowhere' }, 400],
      [{ data: null }, 400],
      [{ out: '.' }, 403],
      [{ out: '' }, 400],
      [{ out: '../models/x' }, 403],
      [{ out: 'photos' }, 409],
      [{ out: 'uploads/earlier' }, 409],
      [{ out: 'escape/model' }, 403],
      [{ base: 'nonsense' }, 400],
      [{ base: { toString: 1 } }, 400],
    ];
    for (const [fields, status] of hostile) refused(await job(fields), status, JSON.stringify(fields));
    refused(await post('/api/jobs', JSON.stringify({ base: 'mobilenet', data: 'photos' }), 'text/plain'), 415, 'text/plain body');
    refused(await post('/api/jobs', '{"base":', 'application/json'), 400, 'broken JSON');
    refused(await post('/api/jobs', '[1,2]', 'application/json'), 400, 'an array');
    refused(await post('/api/jobs', 'x'.repeat(1_100_000), 'application/json'), 413, 'a 1.1 MB body');
    const info = JSON.parse((await get('/api/info')).body) as { job: unknown; root: string };
    assert.equal(info.job, null);
    assert.equal(info.root, 'root');
  });

  test('upload names: dots, slashes and empty names are refused; an existing upload is replaced only when asked', async () => {
    for (const name of ['..', '.', '...', '.hidden', 'a/b', '..%2F..%2Fx', 'a%00b', 'x%5Cy', '', 'uploads/..', 'pets.v1', 'a'.repeat(65)]) {
      refused(await post(`/api/upload?name=${name}`, goodZip(), 'application/zip'), 400, `name=${name}`);
    }
    refused(await post('/api/upload?name=earlier', goodZip(), 'application/zip'), 409, 'existing name');
    refused(await post('/api/upload?name=earlier&replace=1', new Uint8Array([1, 2, 3]), 'application/zip'), 400, 'replace with a broken zip');
    refused(await post('/api/upload?name=fresh', goodZip(), 'text/plain'), 415, 'text/plain upload');
    assert.deepEqual(readdirSync(path.join(root, 'uploads', 'earlier')).sort(), ['cats', 'dogs']);
    // Replacing on request: the new content, complete, in place of the old.
    const other = zipSync({ 'x/birds/1.png': png, 'x/fish/1.png': png });
    const r = await post('/api/upload?name=replaced&replace=1', goodZip(), 'application/zip');
    assert.equal(r.status, 200, r.body);
    const again = await post('/api/upload?name=replaced&replace=1', other, 'application/zip');
    assert.equal(again.status, 200, again.body);
    assert.deepEqual(JSON.parse(again.body), { path: 'uploads/replaced', images: 2 });
    assert.deepEqual(readdirSync(path.join(root, 'uploads', 'replaced')).sort(), ['birds', 'fish']);
    // No temp folders left behind.
    assert.deepEqual(readdirSync(path.join(root, 'uploads')).sort(), ['earlier', 'replaced']);
  });

  test('archives: zip-slip, not-a-zip, too many entries, a high ratio and a lying size are refused, nothing left', async () => {
    const cases: Array<[string, Uint8Array, number, RegExp]> = [
      ['slip', zipSync({ 'cats/a.png': png, '../../evil.png': png, 'dogs/../../../evil2.png': png }), 400, /refused the archive entry/],
      ['notzip', new TextEncoder().encode('just text, no zip'), 400, /not a zip archive/],
      ['many', zipSync(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`c${i % 2}/${i}.png`, png]))), 413, /entries/],
      ['ratio', zipSync({ 'a/b.png': new Uint8Array(2 << 20), 'a/c.png': png }), 413, /inflates more than 100×/],
      ['lying', oneEntryZip('set/cats/1.png', await zerosDeflated(8), { local: 1000, central: 1000 }), 413, /inflates past the 1000 bytes it declares/],
    ];
    for (const [name, zip, status, message] of cases) {
      const r = await post(`/api/upload?name=${name}`, zip, 'application/zip');
      refused(r, status, name);
      assert.match(JSON.parse(r.body).error, message, name);
      assert.ok(!existsSync(path.join(root, 'uploads', name)), name);
    }
    assert.ok(!existsSync(path.join(base, 'evil.png')) && !existsSync(path.join(root, 'evil.png')));
    assert.deepEqual(
      readdirSync(path.join(root, 'uploads')).filter((n) => n.startsWith('.')),
      [],
    );
  });

  test('a second upload while one is being received: 429; the first still lands', async () => {
    const zip = goodZip();
    let firstReq!: http.ClientRequest;
    const first = new Promise<Reply>((resolve, reject) => {
      firstReq = http.request(
        new URL('/api/upload?name=slow', ui.url),
        { method: 'POST', headers: { ...auth(), 'content-type': 'application/zip', 'content-length': String(zip.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res
            .on('data', (c: Buffer) => chunks.push(c))
            .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        },
      );
      firstReq.on('error', reject);
    });
    // Half the body, then wait until the server holds it (it answers /api/info meanwhile).
    firstReq.write(zip.subarray(0, 100));
    for (let i = 0; i < 50 && !readdirSync(path.join(root, 'uploads')).some((n) => n.startsWith('.upload-')); i++) await get('/api/info');
    refused(await post('/api/upload?name=second', goodZip(), 'application/zip'), 429, 'a concurrent upload');
    firstReq.end(zip.subarray(100));
    const r = await first;
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { path: 'uploads/slow', images: 3 });
    assert.ok(!existsSync(path.join(root, 'uploads', 'second')));
  });

  test('an over-limit Content-Length is refused before the body is read; a chunked body is counted', async () => {
    const { status, sent } = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      let sent = 0;
      const req = http.request(
        new URL('/api/upload?name=huge', ui.url),
        { method: 'POST', headers: { ...auth(), 'content-type': 'application/zip', 'content-length': String(50e9) } },
        (res) => {
          res.resume();
          req.destroy();
          resolve({ status: res.statusCode ?? 0, sent });
        },
      );
      req.on('error', (err) => (sent ? undefined : reject(err)));
      // 64 KB, then nothing until the answer: whatever the server read, it read under 1 MB.
      req.write(new Uint8Array(64 * 1024));
      sent += 64 * 1024;
    });
    assert.equal(status, 413);
    assert.ok(sent < 1 << 20);
    // No Content-Length (chunked): stopped once 3 MB have come.
    const chunked = await new Promise<Reply>((resolve) => {
      const req = http.request(
        new URL('/api/upload?name=chunked', ui.url),
        { method: 'POST', headers: { ...auth(), 'content-type': 'application/zip', 'transfer-encoding': 'chunked' } },
        (res) => {
          const chunks: Buffer[] = [];
          res
            .on('data', (c: Buffer) => chunks.push(c))
            .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', () => undefined);
      let n = 0;
      const pump = () => {
        while (n < 40 && req.write(new Uint8Array(256 * 1024))) n++;
        if (n < 40) req.once('drain', pump);
      };
      pump();
      setTimeout(() => req.destroyed || req.end(), 5000).unref();
    });
    refused(chunked, 413, 'chunked over the limit');
    assert.ok(!existsSync(path.join(root, 'uploads', 'chunked')));
  });

  test('Host, Origin and token: rebinding, cross-site posts and missing tokens are refused', async () => {
    const { port } = new URL(ui.url);
    const job = JSON.stringify({ kind: 'train', base: 'mobilenet', data: 'photos' });
    refused(await get('/api/info', { host: 'evil.example' }), 403, 'foreign Host');
    refused(await get('/api/info', { host: `evil.example:${port}` }), 403, 'foreign Host with port');
    refused(await get('/api/files/photos/alpha/000.png', { host: 'evil.example' }), 403, 'foreign Host reading a file');
    refused(await post('/api/jobs', job, 'application/json', { host: 'evil.example' }), 403, 'foreign Host starting a job');
    assert.equal((await get('/api/info', { host: `localhost:${port}` })).status, 200);
    assert.equal((await get('/api/info', { host: `[::1]:${port}` })).status, 200);
    refused(await post('/api/jobs', job, 'text/plain', { origin: 'http://evil.example' }), 403, 'cross-site text/plain POST');
    refused(await post('/api/jobs', job, 'application/json', { origin: 'http://evil.example' }), 403, 'cross-origin JSON POST');
    refused(await post('/api/jobs', job, 'application/json', { origin: 'null' }), 403, 'Origin null');
    refused(await post('/api/jobs', job, 'application/json', { 'sec-fetch-site': 'cross-site' }), 403, 'Sec-Fetch-Site cross-site');
    refused(await post('/api/upload?name=csrf', goodZip(), 'application/zip', { origin: 'http://evil.example' }), 403, 'cross-origin upload');
    refused(
      await post('/api/jobs/abc/cancel', '', 'application/json', { origin: `http://localhost:${Number(port) + 1}` }),
      403,
      'another port is another origin',
    );
    // Tokens.
    refused(await request(ui.url.replace(/\?.*/, ''), '/api/info'), 401, 'no token');
    refused(await request(ui.url, '/api/info', { headers: { authorization: 'token wrong' } }), 401, 'a wrong token');
    refused(await request(ui.url, '/api/info?token=x'), 401, 'a wrong token in the query');
    refused(await request(ui.url, '/api/info', { headers: { cookie: `transferkit-token-${port}=nope` } }), 401, 'a wrong cookie');
    refused(await request(ui.url, '/api/info', { headers: { cookie: `transferkit-token-${Number(port) + 1}=${token}` } }), 401, "another port's cookie");
    const page = await request(ui.url, `/?token=${token}`);
    assert.equal(page.status, 200);
    const cookie = String(page.headers['set-cookie']).split(';')[0];
    assert.equal(cookie, `transferkit-token-${port}=${token}`);
    assert.match(String(page.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
    assert.equal((await request(ui.url, '/api/info', { headers: { cookie } })).status, 200);
    assert.equal((await request(ui.url, '/', {})).status, 401);
  });

  test('--allow-host and --no-token', async () => {
    const open = await startUi({ root: tempDir(), port: 0, token: false, allowHosts: ['workstation.lan'] });
    try {
      assert.equal(open.token, null);
      assert.doesNotMatch(open.url, /token/);
      assert.equal((await request(open.url, '/api/info', { headers: { host: 'workstation.lan' } })).status, 200);
      assert.equal((await request(open.url, '/api/info')).status, 200);
      refused(await request(open.url, '/api/info', { headers: { host: 'evil.example' } }), 403, 'still a Host allow-list');
    } finally {
      await open.close();
    }
  });

  test('a broken or linked transferkit.json leaves that folder out of /api/saved instead of failing it', async () => {
    mkdirSync(path.join(root, 'models', 'broken'), { recursive: true });
    writeFileSync(path.join(root, 'models', 'broken', 'transferkit.json'), '{ broken');
    // A model folder whose metadata is a link to a JSON file outside: not read, not listed, not exported.
    mkdirSync(path.join(root, 'models', 'linked'));
    symlinkSync(path.join(outside, 'private.json'), path.join(root, 'models', 'linked', 'transferkit.json'));
    refused(await get('/api/export?model=models/linked'), 403, 'export of a model folder holding a link outside');
    const r = await get('/api/saved');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), []);
  });

  test('the Data tab: file names, bodies, classes and models are refused before anything is written', async () => {
    const t = cli(['train', path.join(root, 'photos'), ...TINY_BASE, '--head', 'knn', '--out', path.join(root, 'models', 'knn')]);
    assert.equal(t.code, 0, t.stderr);
    const list = path.join(root, 'models', 'knn', 'review.csv');
    const decision = { model: 'models/knn', data: 'photos', file: 'photos/alpha/000.png', action: 'remove' };
    const review = (fields: Record<string, unknown>) => post('/api/data/review', JSON.stringify({ ...decision, ...fields }), 'application/json');
    const hostile: Array<[Record<string, unknown>, number]> = [
      [{ file: '../outside/secret.png' }, 403],
      [{ file: 'photos/../../outside/secret.png' }, 403],
      [{ file: 'escape/secret.png' }, 403],
      [{ file: 'linked/beta/secret.png' }, 403],
      [{ file: '/etc/passwd' }, 400],
      [{ file: 'photos/alpha/000.png\0' }, 400],
      [{ file: 'photos\\alpha\\000.png' }, 400],
      [{ file: 'file:///etc/passwd' }, 400],
      [{ file: 42 }, 400],
      // Inside the root, but not an image of the data folder.
      [{ file: 'uploads/earlier/cats/1.png' }, 403],
      [{ file: 'photos' }, 403],
      [{ file: 'photos/alpha/notes.txt' }, 415],
      [{ file: 'photos/alpha/none.png' }, 404],
      [{ action: 'delete' }, 400],
      [{ action: 'relabel' }, 400],
      [{ action: 'relabel', label: 'gamma' }, 400],
      [{ action: 'relabel', label: '../alpha' }, 400],
      [{ action: 'relabel', label: ['alpha'] }, 400],
      [{ model: '../outside' }, 403],
      [{ model: 'escape' }, 403],
      [{ model: 'photos' }, 404],
      [{ model: 'models/linked' }, 403],
      [{ data: 'escape' }, 403],
      [{ data: 'linked', file: 'linked/alpha/000.png' }, 403],
      [{ data: '/etc' }, 400],
      [{ data: 'nowhere' }, 400],
    ];
    for (const [fields, status] of hostile) refused(await review(fields), status, JSON.stringify(fields));
    refused(await post('/api/data/review', '{"model":', 'application/json'), 400, 'broken JSON');
    refused(await post('/api/data/review', '[1]', 'application/json'), 400, 'an array');
    refused(await post('/api/data/review', 'x'.repeat(1_100_000), 'application/json'), 413, 'a 1.1 MB body');
    refused(await post('/api/data/review', JSON.stringify(decision), 'text/plain'), 415, 'a text/plain decision');
    refused(await post('/api/data/review', JSON.stringify(decision), 'application/json', { origin: 'http://evil.example' }), 403, 'a cross-origin decision');
    assert.ok(!existsSync(list), 'a refused decision writes nothing');
    for (const [body, status] of [
      ['{', 400],
      [JSON.stringify({ model: 'models/knn', data: '../' }), 403],
      [JSON.stringify({ model: '../outside', data: 'photos' }), 403],
      [JSON.stringify({ model: 'models/knn', data: 'linked' }), 403],
    ] as const)
      refused(await post('/api/data/scan', body, 'application/json'), status, `scan ${body}`);
    // Adding a class: its name, the model, the body's type and the archive, checked before anything lands.
    const addClass = (q: string, body: Uint8Array, type = 'application/zip') => post(`/api/data/add-class?${q}`, body, type);
    refused(await addClass('model=models/knn&name=..%2Fx', goodZip()), 400, 'a class name with ../');
    refused(await addClass('model=models/knn&name=', goodZip()), 400, 'no class name');
    refused(await addClass('model=..%2Foutside&name=c', goodZip()), 403, 'a model outside');
    refused(await addClass('model=models/knn&name=c', goodZip(), 'text/plain'), 415, 'a text/plain body');
    refused(await addClass('model=models/knn&name=c', zipSync({ 'c/1.png': png, '../../evil.png': png })), 400, 'zip-slip');
    assert.ok(!existsSync(path.join(root, 'uploads', 'class-c')) && !existsSync(path.join(root, 'models', 'knn-c')));
    refused(await post('/api/data/predict?model=..%2Foutside&name=a.png', png, 'image/png'), 403, 'predict with a model outside');
    refused(await post('/api/data/predict?model=models/knn&name=a.txt', png, 'image/png'), 415, 'predict a .txt');
    // A good decision, and a good class: review.csv in the model's folder, the grown model beside it.
    const ok = await review({ action: 'relabel', label: 'beta' });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(readFileSync(list, 'utf8'), 'file,given_label,suggested_label,self_confidence,action\n../../photos/alpha/000.png,alpha,beta,,relabel\n');
    assert.deepEqual(JSON.parse((await get('/api/data/review?model=models/knn')).body), {
      list: 'models/knn/review.csv',
      rows: [{ file: 'photos/alpha/000.png', given: 'alpha', suggested: 'beta', action: 'relabel' }],
    });
    for (const model of ['..%2Foutside', 'escape', 'models/linked', 'photos'])
      refused(await get(`/api/data/review?model=${model}`), [403, 404], `review list of ${model}`);
    const grown = await addClass('model=models/knn&name=gamma', zipSync({ 'g/1.png': png, '2.png': png }));
    assert.equal(grown.status, 200, grown.body);
    assert.deepEqual(JSON.parse(grown.body).classNames, ['alpha', 'beta', 'gamma']);
    refused(await addClass('model=models/knn&name=gamma', goodZip()), 409, 'the same class again');
  });
});

describe('transferkit ui: error replies', () => {
  test('an unexpected exception is a 500 with an id; the detail and the path go to the log only', () => {
    const logged: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => logged.push(s) > 0) as unknown as typeof process.stderr.write;
    let reply;
    try {
      reply = errorReply(new Error("EACCES: permission denied, open '/srv/data/root/x.png'"), '/srv/data/root', 'GET /api/thumb?path=x.png');
    } finally {
      process.stderr.write = write;
    }
    assert.equal(reply.status, 500);
    assert.match(reply.message, /^internal error \(id [0-9a-f]{8}\); the server's log has the detail$/);
    const id = /id ([0-9a-f]{8})/.exec(reply.message)![1];
    assert.match(logged.join(''), new RegExp(`error ${id} on GET /api/thumb\\?path=x.png: Error: EACCES: permission denied, open '/srv/data/root/x.png'`));
  });

  test('a library error is a 400 with the root and other absolute paths taken out', () => {
    const reply = errorReply(
      new TransferkitError('/srv/data/root/photos: no class folders with images; see /usr/lib/x/y'),
      '/srv/data/root',
      'GET /api/dataset',
    );
    assert.deepEqual(reply, { status: 400, message: 'photos: no class folders with images; see …' });
  });
});

describe('transferkit ui: a zip bomb, in a server of its own (peak RSS, bytes written, answers meanwhile)', {
  skip: existsSync('/proc/self/status') ? false : 'no /proc here: RSS cannot be read; test skipped',
}, () => {
  let server: ChildProcess;
  let url: string;
  let root: string;
  let headers: Record<string, string>;
  before(async () => {
    root = tempDir();
    server = spawn(process.execPath, [CLI, 'ui', '--port', '0', '--root', root], { stdio: ['ignore', 'pipe', 'inherit'] });
    url = await new Promise<string>((resolve) =>
      server.stdout?.on('data', (d: Buffer) => /http:\/\/\S+/.test(String(d)) && resolve(String(d).match(/http:\/\/\S+/)![0])),
    );
    headers = { authorization: `token ${new URL(url).searchParams.get('token')}` };
  });
  after(() => void server.kill());

  const procField = (file: string, field: string) =>
    Number(new RegExp(`^${field}:\\s*(\\d+)`, 'm').exec(readFileSync(`/proc/${server.pid}/${file}`, 'utf8'))?.[1] ?? NaN);

  test('2 GiB of zeros in a 2 MB zip: refused by its directory, by its lying local header, and by the running total', async () => {
    const deflated = await zerosDeflated(2048);
    const GiB2 = 2 ** 31;
    const variants: Array<[string, Buffer, RegExp]> = [
      ['honest', oneEntryZip('set/cats/zeros.png', deflated, { local: GiB2, central: GiB2 }), /by its directory/],
      ['lying', oneEntryZip('set/cats/zeros.png', deflated, { local: 1000, central: 1000 }), /inflates past the 1000 bytes it declares/],
      ['directory-lies', oneEntryZip('set/cats/zeros.png', deflated, { local: GiB2, central: 1000 }), /limit\)|inflates more than/],
    ];
    for (const [name, zip, message] of variants) {
      assert.ok(zip.length < 2.2e6, `${name}: ${zip.length} bytes`);
      const written0 = procField('io', 'wchar');
      let slowest = 0;
      let polls = 0;
      let done = false;
      const poll = (async () => {
        while (!done) {
          const t0 = performance.now();
          const r = await request(url, '/api/info', { headers });
          assert.equal(r.status, 200);
          slowest = Math.max(slowest, performance.now() - t0);
          polls++;
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const r = await request(url, `/api/upload?name=${name}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/zip' }, body: zip });
      done = true;
      await poll;
      const written = procField('io', 'wchar') - written0;
      const peak = procField('status', 'VmHWM') * 1024;
      process.stderr.write(
        `zip bomb '${name}': ${r.status} ${JSON.parse(r.body).error}; ${(written / 1e6).toFixed(1)} MB written, peak RSS ${(peak / 1e6).toFixed(0)} MB, ${polls} /api/info answers meanwhile, slowest ${slowest.toFixed(0)} ms\n`,
      );
      assert.equal(r.status, 413, r.body);
      assert.match(JSON.parse(r.body).error, message);
      assert.ok(written < 50e6, `${name}: ${written} bytes written`);
      assert.ok(peak < 500e6, `${name}: peak RSS ${peak}`);
      assert.ok(slowest < 1000, `${name}: /api/info took ${slowest} ms`);
      assert.deepEqual(readdirSync(path.join(root, 'uploads')), []);
    }
  });
});
