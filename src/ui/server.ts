// `transferkit ui`: a local HTTP server over the library. It binds to loopback, serves the built page, and
// answers a small JSON API; every path it is given must resolve inside --root.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { modelBlocks } from '../applications/blocks.js';
import { applicationIds, getApplication } from '../applications/index.js';
import { IMAGE_EXTENSIONS, listImageFolder } from '../data/folders.js';
import { extractZip } from '../data/unzip.js';
import { compileInference } from '../engine/onnx/compile.js';
import { TransferkitError } from '../errors.js';
import { loadModel } from '../train/saved-model.js';
import { STRATEGIES } from '../train/strategies.js';
import { countParams } from '../model/introspect.js';
import { Job, type JobRequest } from './jobs.js';
import { Forbidden, relativeToRoot, resolveInside } from './paths.js';

export interface UiOptions {
  root: string;
  port?: number;
  host?: string;
  /** Largest zip upload accepted, bytes (default 200 MB). */
  maxUpload?: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const STATIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.bin': 'application/octet-stream', '.svg': 'image/svg+xml', '.png': 'image/png' };

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `upload larger than ${Math.round(limit / 1e6)} MB`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Folders under the root (two levels) that hold class folders of images. */
async function findDatasets(root: string): Promise<Array<{ path: string; classes: Array<{ name: string; count: number }> }>> {
  const found = [];
  const candidates = [root];
  for (const e of await fsp.readdir(root, { withFileTypes: true })) if (e.isDirectory() && !e.name.startsWith('.')) candidates.push(path.join(root, e.name));
  for (const c of [...candidates]) {
    if (c === root) continue;
    for (const e of await fsp.readdir(c, { withFileTypes: true }).catch(() => [])) if (e.isDirectory() && !e.name.startsWith('.')) candidates.push(path.join(c, e.name));
  }
  for (const dir of candidates) {
    const folder = await listImageFolder(dir, { minClasses: 2 }).catch(() => null);
    // A dataset's class folders hold images directly: a folder of datasets is not one.
    if (!folder || folder.files.some((f) => path.dirname(path.dirname(f.file)) !== dir)) continue;
    found.push({ path: relativeToRoot(root, dir), classes: folder.classNames.map((name, k) => ({ name, count: folder.files.filter((f) => f.label === k).length })) });
  }
  return found;
}

async function savedModels(root: string): Promise<Array<{ path: string; metadata: unknown }>> {
  const out: Array<{ path: string; metadata: unknown }> = [];
  const walk = async (dir: string, depth: number) => {
    if (existsSync(path.join(dir, 'transferkit.json'))) {
      out.push({ path: relativeToRoot(root, dir), metadata: JSON.parse(await fsp.readFile(path.join(dir, 'transferkit.json'), 'utf8')) });
      return;
    }
    if (depth === 0) return;
    for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory() && !e.name.startsWith('.')) await walk(path.join(dir, e.name), depth - 1);
  };
  await walk(root, 3);
  return out;
}

export async function startUi(o: UiOptions): Promise<{ url: string; close(): Promise<void> }> {
  const root = await fsp.realpath(o.root);
  const maxUpload = o.maxUpload ?? 200e6;
  let job: Job | null = null;
  const inRoot = (rel: string | null) => {
    if (!rel) throw new HttpError(400, 'a path is required');
    return resolveInside(root, rel);
  };

  const api = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    const q = (name: string) => url.searchParams.get(name);
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /api/info') return json(res, 200, { root, strategies: STRATEGIES, job: job ? { id: job.id, status: job.status } : null });
    if (route === 'GET /api/datasets') return json(res, 200, await findDatasets(root));
    if (route === 'GET /api/dataset') {
      const dir = await inRoot(q('path'));
      const folder = await listImageFolder(dir);
      const samples = folder.classNames.map((name, k) => ({ name, count: folder.files.filter((f) => f.label === k).length, samples: folder.files.filter((f) => f.label === k).slice(0, 4).map((f) => relativeToRoot(root, f.file)) }));
      return json(res, 200, { path: relativeToRoot(root, dir), classes: samples, skipped: folder.skipped.length });
    }
    if (route === 'GET /api/thumb') {
      const file = await inRoot(q('path'));
      const png = await sharp(file).rotate().resize(96, 96, { fit: 'cover' }).png().toBuffer();
      res.writeHead(200, { 'content-type': 'image/png' }).end(png);
      return;
    }
    if (route === 'GET /api/models') {
      return json(res, 200, applicationIds().map((id) => ({ id, name: getApplication(id).spec.name, minSize: getApplication(id).spec.minSize, defaultSize: getApplication(id).spec.defaultSize })));
    }
    if (route === 'GET /api/cutpoints') {
      const id = q('base') ?? '';
      const size = Number(q('size') ?? getApplication(id).spec.defaultSize);
      const alpha = q('alpha') ? Number(q('alpha')) : undefined;
      const base = await getApplication(id).build({ weights: null, includeTop: false, inputShape: [size, size, 3], ...(alpha ? { alpha } : {}) });
      const blocks = modelBlocks(base);
      const total = countParams(base).total;
      base.dispose();
      return json(res, 200, { params: total, blocks });
    }
    if (route === 'POST /api/upload') {
      const name = (q('name') ?? 'upload').replace(/[^\w.-]+/g, '_').slice(0, 60) || 'upload';
      const dest = await inRoot(`uploads/${name}`);
      const body = await readBody(req, maxUpload);
      const count = await extractZip(name, (async function* () {
        yield new Uint8Array(body);
      })(), dest, (entry) => {
        const parts = entry.split('/').filter(Boolean);
        if (parts.some((p) => p.startsWith('.')) || !IMAGE_EXTENSIONS.includes(path.extname(entry).toLowerCase())) return null;
        // <class>/<image>, or <folder>/<class>/<image>.
        return parts.length === 2 ? parts.join('/') : parts.length === 3 ? parts.slice(1).join('/') : null;
      });
      return json(res, 200, { path: relativeToRoot(root, dest), images: count });
    }
    if (route === 'POST /api/jobs') {
      if (job?.status === 'running') throw new HttpError(409, `a training job is already running (${job.id}); wait for it or cancel it`);
      const body = JSON.parse((await readBody(req, 1e6)).toString('utf8')) as Partial<JobRequest> & { data?: string; out?: string };
      if (!body.base || !getApplication(body.base)) throw new HttpError(400, 'base is required');
      const request: JobRequest = {
        ...body,
        kind: body.kind === 'compare' ? 'compare' : 'train',
        base: body.base,
        data: await inRoot(body.data ?? null),
        out: await inRoot(body.out ?? `models/${path.basename(body.data ?? 'model')}-${Date.now().toString(36)}`),
      } as JobRequest;
      job = new Job(randomBytes(4).toString('hex'), request);
      void job.run();
      return json(res, 202, { id: job.id });
    }
    const events = /^\/api\/jobs\/(\w+)\/events$/.exec(url.pathname);
    if (req.method === 'GET' && events) {
      if (!job || job.id !== events[1]) throw new HttpError(404, `no job ${events[1]}`);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const detach = job.attach((e) => res.write(`data: ${JSON.stringify(e)}\n\n`));
      req.on('close', detach);
      return;
    }
    const cancel = /^\/api\/jobs\/(\w+)\/cancel$/.exec(url.pathname);
    if (req.method === 'POST' && cancel) {
      if (!job || job.id !== cancel[1]) throw new HttpError(404, `no job ${cancel[1]}`);
      job.cancel();
      return json(res, 200, { id: job.id, cancelling: true });
    }
    if (route === 'GET /api/saved') return json(res, 200, await savedModels(root));
    // Files by path (/api/files/<path under the root>): saved models load from here, so tfjs finds weights.bin
    // beside model.json.
    if (req.method === 'GET' && url.pathname.startsWith('/api/files/')) {
      const file = await inRoot(decodeURIComponent(url.pathname.slice('/api/files/'.length)));
      const stat = await fsp.stat(file).catch(() => null);
      if (!stat?.isFile()) throw new HttpError(404, 'not a file');
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': stat.size });
      createReadStream(file).pipe(res);
      return;
    }
    if (route === 'GET /api/export') {
      const dir = await inRoot(q('model'));
      const { model } = await loadModel(dir);
      const onnx = compileInference(model).onnx;
      model.dispose();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${path.basename(dir)}.onnx"` }).end(Buffer.from(onnx));
      return;
    }
    throw new HttpError(404, `no such API: ${route}`);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handle = async () => {
      if (url.pathname.startsWith('/api/')) return api(req, res, url);
      // The built page: index.html and its assets.
      const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
      const file = path.resolve(STATIC_DIR, rel);
      if (!file.startsWith(STATIC_DIR + path.sep) || !existsSync(file)) throw new HttpError(404, `not found: ${url.pathname}`);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      createReadStream(file).pipe(res);
    };
    handle().catch((err: Error) => {
      const status = err instanceof HttpError ? err.status : err instanceof Forbidden ? 403 : err instanceof TransferkitError || err instanceof SyntaxError ? 400 : 500;
      if (!res.headersSent) json(res, status, { error: err.message.split('\n')[0] });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 7860, o.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}/`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
