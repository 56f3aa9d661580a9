// `transferkit ui`: a local HTTP server over the library. It binds to loopback, serves the built page, and
// answers a small JSON API; every path it is given must resolve inside --root (paths.ts), every request must
// pass the guard (guard.ts: Host, Origin, token), uploads unpack under caps (upload.ts).
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { modelBlocks } from '../applications/blocks.js';
import { applicationIds, getApplication } from '../applications/index.js';
import { IMAGE_EXTENSIONS, listImageFolder } from '../data/folders.js';
import { compileInference } from '../engine/onnx/compile.js';
import { TransferkitError } from '../errors.js';
import { loadModel } from '../train/saved/saved-model.js';
import { STRATEGIES } from '../train/strategy/strategies.js';
import { countParams } from '../model/introspect.js';
import { EXPLAIN_TYPES, explainUpload } from './explain.js';
import { Job, type JobRequest } from './jobs.js';
import { type Guard, makeGuard, requireContentType } from './guard.js';
import { HttpError, gateFolderContents, gatePath, relativeToRoot, withoutServerPaths } from './paths.js';
import { DEFAULT_UPLOAD_LIMITS, type UploadLimits, receiveUpload, removeStaleUploads } from './upload.js';

export interface UiOptions {
  root: string;
  port?: number;
  host?: string;
  /** Largest zip upload accepted, bytes (default 200 MB). */
  maxUpload?: number;
  /** Caps on unpacking an upload (defaults: DEFAULT_UPLOAD_LIMITS). */
  limits?: Partial<UploadLimits>;
  /** Largest image "Try it" sends for its Grad-CAM, bytes (default 50 MB). */
  maxTryImage?: number;
  /** Host names accepted besides the bound address and localhost. */
  allowHosts?: string[];
  /** false: no per-launch token (default true). */
  token?: boolean;
}

const STATIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The training options a request may set; paths (data, out, weights) go through the gate separately. */
const JOB_FIELDS = [
  'base',
  'alpha',
  'inputSize',
  'strategy',
  'unfreezeFrom',
  'head',
  'epochs',
  'fineTuneEpochs',
  'batchSize',
  'learningRate',
  'optimizer',
  'validationSplit',
  'seed',
  'earlyStoppingPatience',
  'restoreBest',
  'reduceLrPatience',
  'augment',
  'featureCache',
  'regressionLoss',
  'engine',
  'bands',
  'bandScale',
  'bandAdaptation',
] as const;

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** A JSON object body of at most 1 MB, sent as application/json. */
async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  requireContentType(req, ['application/json']);
  const limit = 1e6;
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new HttpError(413, 'a JSON body larger than 1 MB');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'a JSON body larger than 1 MB');
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Folders under the root (two levels) that hold class folders of images. */
async function findDatasets(root: string): Promise<Array<{ path: string; classes: Array<{ name: string; count: number }> }>> {
  const found = [];
  const candidates = [root];
  for (const e of await fsp.readdir(root, { withFileTypes: true })) if (e.isDirectory() && !e.name.startsWith('.')) candidates.push(path.join(root, e.name));
  for (const c of [...candidates]) {
    if (c === root) continue;
    for (const e of await fsp.readdir(c, { withFileTypes: true }).catch(() => []))
      if (e.isDirectory() && !e.name.startsWith('.')) candidates.push(path.join(c, e.name));
  }
  for (const dir of candidates) {
    if (
      !(await gateFolderContents(root, dir, 'path').then(
        () => true,
        () => false,
      ))
    )
      continue;
    const folder = await listImageFolder(dir, { minClasses: 2 }).catch(() => null);
    // A dataset's class folders hold images directly: a folder of datasets is not one.
    if (!folder || folder.files.some((f) => path.dirname(path.dirname(f.file)) !== dir)) continue;
    found.push({
      path: relativeToRoot(root, dir),
      classes: folder.classNames.map((name, k) => ({ name, count: folder.files.filter((f) => f.label === k).length })),
    });
  }
  return found;
}

async function savedModels(root: string): Promise<Array<{ path: string; metadata: unknown }>> {
  const out: Array<{ path: string; metadata: unknown }> = [];
  const walk = async (dir: string, depth: number) => {
    if (existsSync(path.join(dir, 'transferkit.json'))) {
      // An unreadable transferkit.json (or a link to one outside the root) leaves that folder out of the list,
      // not the list out of the page.
      const real = await fsp.realpath(path.join(dir, 'transferkit.json')).catch(() => '');
      const metadata = !real.startsWith(root + path.sep)
        ? null
        : await fsp
            .readFile(real, 'utf8')
            .then(
              (t) => JSON.parse(t) as unknown,
              () => null,
            )
            .catch(() => null);
      if (metadata) out.push({ path: relativeToRoot(root, dir), metadata });
      return;
    }
    if (depth === 0) return;
    for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => []))
      if (e.isDirectory() && !e.name.startsWith('.')) await walk(path.join(dir, e.name), depth - 1);
  };
  await walk(root, 3);
  return out;
}

export async function startUi(o: UiOptions): Promise<{ url: string; token: string | null; close(): Promise<void> }> {
  const root = await fsp.realpath(o.root);
  const limits: UploadLimits = { ...DEFAULT_UPLOAD_LIMITS, ...(o.maxUpload !== undefined ? { maxUpload: o.maxUpload } : {}), ...o.limits };
  await removeStaleUploads(root);
  let job: Job | null = null;
  let uploading = false;
  let explaining = false;
  /** The running job's parameters as the page sent them (paths relative to the root), for a reloaded page's form. */
  let jobParams: Record<string, unknown> | null = null;
  const gate = (raw: unknown, field: string, child = false) => gatePath(root, raw, { field, child });
  const q = (url: URL, name: string) => url.searchParams.get(name);

  const startJob = async (body: Record<string, unknown>) => {
    if (job?.status === 'running') throw new HttpError(409, `a training job is already running (${job.id}); wait for it or cancel it`);
    if (typeof body.base !== 'string' || !applicationIds().includes(body.base)) throw new HttpError(400, `base: one of ${applicationIds().join(', ')}`);
    const data = await gate(body.data, 'data');
    if (!(await fsp.stat(data).catch(() => null))?.isDirectory()) throw new HttpError(400, "data: not a folder under the UI's root");
    await gateFolderContents(root, data, 'data');
    const out = await gate(body.out ?? `models/${path.basename(data)}-${Date.now().toString(36)}`, 'out', true);
    // A model may overwrite an earlier model, never a folder of something else (a dataset, an upload).
    if (existsSync(out) && !existsSync(path.join(out, 'transferkit.json')))
      throw new HttpError(409, 'out: the folder exists and is not a saved model; choose another name');
    let weights: string | null = 'imagenet';
    if (body.weights === null) weights = null;
    else if (body.weights !== undefined && body.weights !== 'imagenet') {
      weights = await gate(body.weights, 'weights');
      if (path.extname(weights).toLowerCase() !== '.h5' || !(await fsp.stat(weights).catch(() => null))?.isFile())
        throw new HttpError(400, "weights: 'imagenet', null, or a .h5 file under the UI's root");
    }
    const options = Object.fromEntries(JOB_FIELDS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
    const request = { ...options, kind: body.kind === 'compare' ? 'compare' : 'train', data, out, weights } as JobRequest;
    job = new Job(randomBytes(4).toString('hex'), request);
    jobParams = {
      ...options,
      kind: request.kind,
      data: relativeToRoot(root, data),
      out: relativeToRoot(root, out),
      weights: body.weights === undefined ? 'imagenet' : body.weights,
    };
    void job.run();
    return job.id;
  };

  const api = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /api/info')
      return json(res, 200, { root: path.basename(root), strategies: STRATEGIES, job: job ? { id: job.id, status: job.status, params: jobParams } : null });
    if (route === 'GET /api/datasets') return json(res, 200, await findDatasets(root));
    if (route === 'GET /api/dataset') {
      const dir = await gate(q(url, 'path'), 'path');
      await gateFolderContents(root, dir, 'path');
      const folder = await listImageFolder(dir);
      const samples = folder.classNames.map((name, k) => ({
        name,
        count: folder.files.filter((f) => f.label === k).length,
        samples: folder.files
          .filter((f) => f.label === k)
          .slice(0, 4)
          .map((f) => relativeToRoot(root, f.file)),
      }));
      return json(res, 200, { path: relativeToRoot(root, dir), classes: samples, skipped: folder.skipped.length });
    }
    if (route === 'GET /api/thumb') {
      const file = await gate(q(url, 'path'), 'path', true);
      if (!(await fsp.stat(file).catch(() => null))?.isFile()) throw new HttpError(404, 'path: no such file');
      if (!IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase())) throw new HttpError(415, 'path: not an image file');
      const png = await sharp(file)
        .rotate()
        .resize(96, 96, { fit: 'cover' })
        .png()
        .toBuffer()
        .catch(() => {
          throw new HttpError(415, 'path: not an image the server can read');
        });
      res.writeHead(200, { 'content-type': 'image/png' }).end(png);
      return;
    }
    if (route === 'GET /api/models') {
      return json(
        res,
        200,
        applicationIds().map((id) => ({
          id,
          name: getApplication(id).spec.name,
          minSize: getApplication(id).spec.minSize,
          defaultSize: getApplication(id).spec.defaultSize,
        })),
      );
    }
    if (route === 'GET /api/cutpoints') {
      const id = q(url, 'base') ?? '';
      if (!applicationIds().includes(id)) throw new HttpError(400, `base: one of ${applicationIds().join(', ')}`);
      const size = Number(q(url, 'size') ?? getApplication(id).spec.defaultSize);
      if (!Number.isInteger(size) || size < 1 || size > 2048) throw new HttpError(400, 'size: a whole number of pixels up to 2048');
      const alpha = q(url, 'alpha') ? Number(q(url, 'alpha')) : undefined;
      const base = await getApplication(id).build({ weights: null, includeTop: false, inputShape: [size, size, 3], ...(alpha ? { alpha } : {}) });
      const blocks = modelBlocks(base);
      const total = countParams(base).total;
      base.dispose();
      return json(res, 200, { params: total, blocks });
    }
    if (route === 'POST /api/upload') {
      requireContentType(req, ['application/zip', 'application/x-zip-compressed', 'application/octet-stream']);
      // One upload at a time: each holds a worker, and up to the caps on disk.
      if (uploading) throw new HttpError(429, 'another upload is being received or unpacked; try again when it is done');
      uploading = true;
      try {
        return json(res, 200, await receiveUpload(req, root, url, limits));
      } finally {
        uploading = false;
      }
    }
    if (route === 'POST /api/explain') {
      requireContentType(req, EXPLAIN_TYPES);
      const dir = await gate(q(url, 'model'), 'model', true);
      if (!existsSync(path.join(dir, 'transferkit.json'))) throw new HttpError(404, 'model: not a saved model folder');
      await gateFolderContents(root, dir, 'model', 1);
      // One at a time: each loads a model and runs it with gradients.
      if (explaining) throw new HttpError(429, 'another image is being explained; try again when it is done');
      explaining = true;
      try {
        return json(res, 200, await explainUpload(req, dir, q(url, 'name'), o.maxTryImage ?? 50e6));
      } finally {
        explaining = false;
      }
    }
    if (route === 'POST /api/jobs') return json(res, 202, { id: await startJob(await readJson(req)) });
    const events = /^\/api\/jobs\/(\w+)\/events$/.exec(url.pathname);
    if (req.method === 'GET' && events) {
      if (!job || job.id !== events[1]) throw new HttpError(404, 'no such job');
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const detach = job.attach((e) => res.write(`data: ${withoutServerPaths(root, JSON.stringify(e))}\n\n`));
      req.on('close', detach);
      return;
    }
    const cancel = /^\/api\/jobs\/(\w+)\/cancel$/.exec(url.pathname);
    if (req.method === 'POST' && cancel) {
      if (!job || job.id !== cancel[1]) throw new HttpError(404, 'no such job');
      job.cancel();
      return json(res, 200, { id: job.id, cancelling: true });
    }
    if (route === 'GET /api/saved') return json(res, 200, await savedModels(root));
    // Files by path (/api/files/<path under the root>): saved models load from here, so tfjs finds weights.bin
    // beside model.json.
    if (req.method === 'GET' && url.pathname.startsWith('/api/files/')) {
      const file = await gate(decodeOnce(url.pathname.slice('/api/files/'.length)), 'path', true);
      const stat = await fsp.stat(file).catch(() => null);
      if (!stat?.isFile()) throw new HttpError(404, 'path: no such file');
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': stat.size });
      createReadStream(file).pipe(res);
      return;
    }
    if (route === 'GET /api/export') {
      const dir = await gate(q(url, 'model'), 'model', true);
      if (!existsSync(path.join(dir, 'transferkit.json'))) throw new HttpError(404, 'model: not a saved model folder');
      await gateFolderContents(root, dir, 'model', 1);
      const { model } = await loadModel(dir);
      const onnx = compileInference(model).onnx;
      model.dispose();
      res
        .writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-disposition': `attachment; filename="${path.basename(dir).replace(/[^\w.-]/g, '_')}.onnx"`,
        })
        .end(Buffer.from(onnx));
      return;
    }
    throw new HttpError(404, 'no such API');
  };

  const port = o.port ?? 7860;
  const host = o.host ?? '127.0.0.1';
  let guard: Guard | null = null;
  const server = http.createServer((req, res) => {
    const handle = async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const setCookie = (guard as Guard).check(req, url);
      if (setCookie) res.setHeader('set-cookie', setCookie);
      if (url.pathname.startsWith('/api/')) return api(req, res, url);
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'the page is read with GET');
      // The built page: index.html and its assets.
      const rel = url.pathname === '/' ? 'index.html' : decodeOnce(url.pathname).replace(/^\/+/, '');
      const file = path.resolve(STATIC_DIR, rel);
      if (rel.includes('\0') || !file.startsWith(STATIC_DIR + path.sep) || !existsSync(file)) throw new HttpError(404, 'no such page');
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      createReadStream(file).pipe(res);
    };
    handle().catch((err: Error) => {
      const { status, message } = errorReply(err, root, `${req.method} ${req.url}`);
      if (res.headersSent) return void res.end();
      // A refused body is not read: the connection closes once the answer is out.
      if ((err as { closeConnection?: boolean }).closeConnection) res.setHeader('connection', 'close');
      json(res, status, { error: message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as { port: number }).port;
  guard = makeGuard({ host, port: bound, allowHosts: o.allowHosts ?? [], token: o.token ?? true });
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/${guard.query}`,
    token: guard.token,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * The status and client message for a failed request: a refusal's own, a library error's first line without
 * server paths (400), or for anything unexpected a generic 500 with an id, the detail written to the server's log.
 */
export function errorReply(err: Error, root: string, request: string): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  if (err instanceof TransferkitError) return { status: 400, message: withoutServerPaths(root, err.message.split('\n')[0]) };
  const id = randomBytes(4).toString('hex');
  process.stderr.write(`transferkit ui: error ${id} on ${request}: ${err.stack ?? err.message}\n`);
  return { status: 500, message: `internal error (id ${id}); the server's log has the detail` };
}

/** A URL path decoded once; a malformed escape is a 400, not an exception. */
function decodeOnce(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new HttpError(400, 'a malformed %-escape in the path');
  }
}
