// `transferkit ui`: a local HTTP server over the library. It binds to loopback, serves the built page, and
// answers a small JSON API; every path it is given must resolve inside --root (paths.ts), every request must
// pass the guard (guard.ts: Host, Origin, token), uploads unpack under caps (upload.ts). The routes live in
// *-routes.ts, one file per part of the page.
import { existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ctx, Routes, UiOptions } from './context.js';
import { dataRoutes } from './data-routes.js';
import { type Guard, makeGuard } from './guard.js';
import { jobRoutes } from './job-routes.js';
import { fileRoute, libraryRoutes } from './library-routes.js';
import { HttpError } from './paths.js';
import { decodeOnce, errorReply, json, sendFile } from './respond.js';
import { DEFAULT_UPLOAD_LIMITS, removeStaleUploads } from './upload.js';

export type { UiOptions } from './context.js';
export { errorReply } from './respond.js';

const STATIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui');

/** The API's answer to one request: a route of its own, or a 404. */
function apiHandler(ctx: Ctx): (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<unknown> {
  const jobs = jobRoutes(ctx);
  const routes: Routes = { ...libraryRoutes(ctx), ...jobs.routes, ...dataRoutes(ctx) };
  return async (req, res, url) => {
    const route = routes[`${req.method} ${url.pathname}`];
    if (route) return route(req, res, url);
    if (jobs.byId(req, res, url)) return;
    if (req.method === 'GET' && (await fileRoute(ctx, res, url))) return;
    throw new HttpError(404, 'no such API');
  };
}

/** The built page: index.html and its assets. */
async function staticFile(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'the page is read with GET');
  const rel = url.pathname === '/' ? 'index.html' : decodeOnce(url.pathname).replace(/^\/+/, '');
  const file = path.resolve(STATIC_DIR, rel);
  if (rel.includes('\0') || !file.startsWith(STATIC_DIR + path.sep) || !existsSync(file)) throw new HttpError(404, 'no such page');
  await sendFile(res, file);
}

export async function startUi(o: UiOptions): Promise<{ url: string; token: string | null; close(): Promise<void> }> {
  const root = await fsp.realpath(o.root);
  const ctx: Ctx = {
    root,
    options: o,
    limits: { ...DEFAULT_UPLOAD_LIMITS, ...(o.maxUpload !== undefined ? { maxUpload: o.maxUpload } : {}), ...o.limits },
    uploadLock: { busy: false },
  };
  await removeStaleUploads(root);
  const api = apiHandler(ctx);
  const port = o.port ?? 7860;
  const host = o.host ?? '127.0.0.1';
  let guard: Guard | null = null;
  const server = http.createServer((req, res) => {
    const handle = async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const setCookie = (guard as Guard).check(req, url);
      if (setCookie) res.setHeader('set-cookie', setCookie);
      if (url.pathname.startsWith('/api/')) return api(req, res, url);
      return staticFile(req, res, url);
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
